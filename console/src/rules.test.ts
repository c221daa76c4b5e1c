import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES, batchTopic, checkBatchTopic, checkMappable, checkName, checkProjectName, checkShardColumns, checkStartTime, checkTopicName, hasChinese } from './rules';

// The server's document, as the generated types were made from it.
const doc = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
const property = (schema: string, field: string) => doc.components.schemas[schema].properties[field];

describe('the rules come from the server', () => {
  it('agree with the limits of the OpenAPI document', () => {
    expect(property('DataSourceInput', 'name').pattern).toMatch(new RegExp(`\\{1,${RULES.data_source_name.max_chars}\\}\\$$`));
    expect(property('TagInput', 'name').pattern).toMatch(new RegExp(`\\{1,${RULES.tag_name.max_chars}\\}\\$$`));
    expect(property('NewUserInput', 'username').maxLength).toBe(RULES.username.max_chars);
    expect(property('NewUserInput', 'password').minLength).toBe(RULES.password.min_chars);
    expect(property('NewUserInput', 'password').maxLength).toBe(RULES.password.max_chars);
  });

  it.each(['data_source_name', 'tag_name', 'username'] as const)('judge %s at the published limit', (rule) => {
    const max = RULES[rule].max_chars;
    expect(checkName(rule, 'a'.repeat(max))).toBeNull();
    expect(checkName(rule, 'a'.repeat(max + 1))).toEqual({ key: 'rules.generic.tooLong', values: { max } });
    expect(checkName(rule, 'a b')?.key).toBe('rules.generic.noSpaces');
  });

  it('judge a data source name as the server does: 1-32 characters, any but spaces', () => {
    expect(checkName('data_source_name', 'mysql-生产_1.a')).toBeNull();
    expect(checkName('data_source_name', 'a'.repeat(33))?.values).toEqual({ max: 32 });
  });

  it('refuse control and invisible characters in every name', () => {
    for (const rule of ['data_source_name', 'tag_name'] as const) {
      expect(checkName(rule, 'evil\u202etxt'), rule).toEqual({ key: 'rules.generic.hidden', values: { code: 'U+202E' } });
      expect(checkName(rule, 'zero\u200bwidth')?.values).toEqual({ code: 'U+200B' });
      expect(checkName(rule, 'a\u0007b')?.values).toEqual({ code: 'U+0007' });
      expect(checkName(rule, '订单-ünïcödé')).toBeNull();
    }
  });

  it('judge user names by their characters and passwords by their length in bytes', () => {
    expect(checkName('username', 'ops.team_1@corp-x')).toBeNull();
    expect(checkName('username', 'ops/team')).toEqual({ key: 'rules.generic.chars', values: { char: '/', allowed: '._-@' } });
    expect(checkName('password', 'a'.repeat(RULES.password.min_chars - 1))?.key).toBe('rules.generic.tooShort');
    expect(checkName('password', 'pass word 12')).toBeNull();
    expect(checkName('password', '密'.repeat(400))?.key).toBe('rules.generic.tooLong');
  });

  it('refuse tables the server cannot map, at the mapping', () => {
    expect(checkMappable('shop', 'orders')).toBeNull();
    expect(checkMappable('shop', 'orders.2024')).toEqual({ key: 'rules.object.unmappable', values: { char: '.' } });
    expect(checkMappable('shop', 'a`b')?.values).toEqual({ char: '`' });
    expect(checkMappable('shop', '订单')?.key).toBe('rules.object.chinese');
    expect(checkMappable('商店', 'orders')?.key).toBe('rules.object.chinese');
  });

  it('refuse a table whose batch-rule topic breaks the topic rule', () => {
    expect(checkBatchTopic('shop', 'orders')).toBeNull();
    const long = 't'.repeat(RULES.topic.name.max_chars);
    expect(checkBatchTopic('shop', long)?.key).toBe('rules.object.batchTopic');
    expect(checkBatchTopic('shop', 'order$')?.values?.topic).toBe('Topic_shop_order$');
  });
});

describe('no form restates a server limit', () => {
  // A limit or pattern written into a form rule drifts from the server's; the forms take
  // theirs from rules.ts. The description's 128 is the console's own (the server has none).
  const allowed = ["{ max: 128, message: t('datasources.descriptionTooLong') }"];
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.tsx') ? [join(dir, n)] : []));
  it.each(files(new URL('.', import.meta.url).pathname))('%s', (file) => {
    let text = readFileSync(file, 'utf8');
    for (const a of allowed) text = text.replace(a, '');
    expect(text).not.toMatch(/\{\s*(max|min|len):\s*\d/);
    expect(text).not.toMatch(/pattern:\s*\//);
    expect(text).not.toMatch(/\\S\{1,\d+\}|\{1,\d+\}\$/);
  });
});

describe('project name', () => {
  it('accepts Chinese characters, letters and digits up to 64', () => {
    expect(checkProjectName('订单同步01')).toBeNull();
    expect(checkProjectName('Orders2026')).toBeNull();
    expect(checkProjectName('同'.repeat(64))).toBeNull();
  });
  it('refuses an empty name', () => {
    expect(checkProjectName('')?.key).toBe('rules.name.required');
  });
  it('refuses 65 characters, counting a Chinese character as one', () => {
    expect(checkProjectName('同'.repeat(65))?.key).toBe('rules.name.tooLong');
    expect(checkProjectName('a'.repeat(65))?.key).toBe('rules.name.tooLong');
  });
  it('refuses spaces, punctuation and symbols', () => {
    for (const name of ['my project', 'orders-1', 'a_b', 'x.y', '订单！', 'emoji😀']) {
      expect(checkProjectName(name)?.key, name).toBe('rules.name.chars');
    }
  });
});

describe('topic name', () => {
  it('accepts 3 to 64 of A-Z a-z 0-9 - _ .', () => {
    expect(checkTopicName('abc')).toBeNull();
    expect(checkTopicName('shop-orders_v1.2')).toBeNull();
    expect(checkTopicName('t'.repeat(64))).toBeNull();
  });
  it('refuses too short and too long names', () => {
    expect(checkTopicName('ab')?.key).toBe('rules.topic.length');
    expect(checkTopicName('t'.repeat(65))?.key).toBe('rules.topic.length');
    expect(checkTopicName('')?.key).toBe('rules.topic.required');
  });
  it('refuses other characters', () => {
    for (const name of ['a b c', 'topic/1', '订单主题', 'a+bc', 'top!c']) {
      expect(checkTopicName(name)?.key, name).toBe('rules.topic.chars');
    }
  });
  it('names batch topics as OMS does', () => {
    expect(batchTopic('shop', 'orders')).toBe('Topic_shop_orders');
  });
});

describe('incremental start time', () => {
  const now = 1_764_633_600;
  it('accepts now, the past and empty (= now)', () => {
    expect(checkStartTime(now, now)).toBeNull();
    expect(checkStartTime(now - 3600, now)).toBeNull();
    expect(checkStartTime(String(now - 1), now)).toBeNull();
    expect(checkStartTime(null, now)).toBeNull();
    expect(checkStartTime('', now)).toBeNull();
  });
  it('refuses the future', () => {
    expect(checkStartTime(now + 1, now)?.key).toBe('rules.startTime.future');
  });
  it('refuses what is not a whole positive number of seconds', () => {
    for (const v of ['abc', '12.5', '-5', '0', '1e9']) {
      expect(checkStartTime(v, now)?.key, v).toBe('rules.startTime.notNumber');
    }
  });
});

describe('shard columns', () => {
  const columns = [{ name: 'id' }, { name: 'customer_id' }, { name: '名称', invalid_reason: 'Chinese characters' }];
  it('accepts none (primary key) and existing columns', () => {
    expect(checkShardColumns([], columns)).toBeNull();
    expect(checkShardColumns(['customer_id'], columns)).toBeNull();
    expect(checkShardColumns(['id', 'customer_id'], columns)).toBeNull();
  });
  it('refuses a column the table does not have', () => {
    expect(checkShardColumns(['nope'], columns)).toEqual({ key: 'rules.shard.unknown', values: { column: 'nope' } });
  });
  it('refuses a column with Chinese characters', () => {
    expect(checkShardColumns(['名称'], columns)?.key).toBe('rules.shard.invalid');
  });
  it('refuses a column named twice', () => {
    expect(checkShardColumns(['id', 'id'], columns)?.key).toBe('rules.shard.duplicate');
  });
  it('detects Chinese characters in names', () => {
    expect(hasChinese('订单')).toBe(true);
    expect(hasChinese('orders')).toBe(false);
  });
});
