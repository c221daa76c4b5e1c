import { describe, expect, it } from 'vitest';
import { batchTopic, checkProjectName, checkShardColumns, checkStartTime, checkTopicName, hasChinese } from './rules';

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
