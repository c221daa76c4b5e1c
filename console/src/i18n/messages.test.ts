// Every code the server can send (docs/message-codes.json, written by the server from its
// code enums) has its texts in both languages, and no text names a parameter its code does
// not carry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import i18next from 'i18next';
import { describe, expect, it } from 'vitest';
import en from './en.json';
import zhCN from './zh-CN.json';
import { connectionSummary, errorMessage, eventMessage, precheckMessage, problemMessage } from './messages';

type Family = Record<string, string[]>;
type Catalog = { errors: Family; events: Family; precheck: Family; rules: Family; connection: Family };
const catalog: Catalog = JSON.parse(readFileSync(join(__dirname, '../../../docs/message-codes.json'), 'utf8'));

/** Codes whose message is the broken rule's, said by the rule's code (`rules`; the advice is by the error's code). */
const RULE_CODES = ['INVALID_REQUEST', 'INVALID_NAME', 'INVALID_TAG', 'INVALID_DATASOURCE', 'INVALID_PROJECT'];

type Dict = { [key: string]: string | Dict };
const DICTIONARIES: Record<string, Dict> = { en: en as Dict, 'zh-CN': zhCN as Dict };

function lookup(dict: Dict, path: string[]): string | Dict | undefined {
  let node: string | Dict | undefined = dict;
  for (const part of path) node = typeof node === 'object' ? node[part] : undefined;
  return node;
}
const text = (dict: Dict, key: string) => {
  const found = lookup(dict, key.split('.'));
  return typeof found === 'string' ? found : undefined;
};
const namedParams = (s: string) => [...s.matchAll(/\{\{\s*([A-Za-z0-9_]+)/g)].map((m) => m[1]);

/** Every text a code needs in a language, missing ones as undefined. */
function texts(dict: Dict): { key: string; params: string[]; value: string | undefined }[] {
  const out: { key: string; params: string[]; value: string | undefined }[] = [];
  for (const [code, params] of Object.entries(catalog.errors)) {
    out.push({ key: `errors.${code}`, params: [], value: text(dict, `errors.${code}`) });
    if (!RULE_CODES.includes(code)) out.push({ key: `messages.errors.${code}.message`, params, value: text(dict, `messages.errors.${code}.message`) });
    out.push({ key: `messages.errors.${code}.advice`, params, value: text(dict, `messages.errors.${code}.advice`) });
  }
  for (const family of ['events', 'rules', 'connection'] as const) {
    for (const [code, params] of Object.entries(catalog[family])) {
      out.push({ key: `messages.${family}.${code}`, params, value: text(dict, `messages.${family}.${code}`) });
    }
  }
  for (const [code, params] of Object.entries(catalog.precheck)) {
    out.push({ key: `messages.precheck.${code}.detail`, params, value: text(dict, `messages.precheck.${code}.detail`) });
    const fix = text(dict, `messages.precheck.${code}.fix`);
    if (fix !== undefined) out.push({ key: `messages.precheck.${code}.fix`, params, value: fix });
  }
  return out;
}

describe('message codes', () => {
  it('the catalog is the server’s and not empty', () => {
    expect(Object.keys(catalog.errors)).toContain('PRECHECK_REQUIRED');
    expect(Object.keys(catalog.precheck)).toContain('source.binlog.off');
    expect(Object.keys(catalog.events)).toContain('event.notice.backfill_finished');
    expect(Object.keys(catalog.events)).toContain('event.audit.started');
    expect(Object.keys(catalog.rules)).toContain('rule.topic.too_long');
    expect(Object.keys(catalog.connection)).toContain('connection.kafka');
  });

  for (const [language, dict] of Object.entries(DICTIONARIES)) {
    it(`every code the server can send has its ${language} text`, () => {
      const missing = texts(dict).filter((x) => x.value === undefined).map((x) => x.key);
      expect(missing, `texts missing in ${language}`).toEqual([]);
    });

    it(`no ${language} text names a parameter its code does not carry`, () => {
      const wrong = texts(dict).flatMap((x) => namedParams(x.value ?? '').filter((p) => !x.params.includes(p)).map((p) => `${x.key}: {{${p}}}`));
      expect(wrong).toEqual([]);
    });

    it(`every ${language} fix belongs to a finding the server sends`, () => {
      const known = new Set(Object.keys(catalog.precheck));
      const walk = (node: Dict, path: string[]): string[] =>
        Object.entries(node).flatMap(([k, v]) => (typeof v === 'string' ? (k === 'detail' || k === 'fix' ? [path.join('.')] : []) : walk(v, [...path, k])));
      const stale = walk(lookup(dict, ['messages', 'precheck']) as Dict, []).filter((code) => !known.has(code));
      expect(stale, 'texts of codes the server no longer sends').toEqual([]);
    });
  }
});

describe('rendering', () => {
  const i18n = i18next.createInstance();
  void i18n.init({ resources: { 'zh-CN': { translation: zhCN }, en: { translation: en } }, lng: 'zh-CN', interpolation: { escapeValue: false } });
  const t = i18n.t.bind(i18n);

  it('says an error by its code and params, with list words translated', () => {
    const { message, advice } = errorMessage(t, i18n, { code: 'NOT_FOUND', params: { what: 'project', id: 'p_1' }, message: 'project "p_1" does not exist', advice: 'list the projects' });
    expect(message).toBe('项目 p_1 不存在');
    expect(advice).not.toMatch(/list the/);
  });

  it('says a state event with the states in the user’s language', () => {
    const text = eventMessage(t, i18n, { code: 'event.state.changed', params: { from: 'not_started', to: 'running' }, message: 'not_started → running' });
    expect(text).toBe('未启动 → 运行中');
  });

  it('says notices, audit entries and a run’s error by code', () => {
    expect(eventMessage(t, i18n, { code: 'event.notice.backfill_finished', params: { table: 'shop.orders' }, message: 'the backfill of shop.orders is finished' })).toBe('表 shop.orders 的回填已完成');
    expect(eventMessage(t, i18n, { code: 'event.audit.user_role_set', params: { user: 'ann', role: 'operator' }, message: 'set the role of "ann" to operator' })).toBe('将用户 ann 的角色设为运维');
    expect(eventMessage(t, i18n, { code: 'event.error.source', params: { error: 'Access denied' }, message: 'cannot connect' })).toBe('运行因源端错误而停止：Access denied');
  });

  it('says a refused value by its rule’s code, at the error and at each field problem', () => {
    const rule = { code: 'rule.topic.too_long', params: { topic: 'x'.repeat(70), count: '70', max: '64' } };
    const x = errorMessage(t, i18n, { code: 'INVALID_PROJECT', message: 'topic "xxx" is invalid: it has 70 characters', advice: 'use 3-64 of A-Z a-z 0-9 - _ .', rule });
    expect(x.message).toBe(`主题 ${'x'.repeat(70)} 有 70 个字符，最多允许 64 个`);
    expect(x.advice).not.toMatch(/use 3-64/);
    expect(problemMessage(t, i18n, { message: 'english', advice: 'fix it', rule })).not.toMatch(/english|fix it/);
    // A rule without a code keeps the server's English.
    expect(problemMessage(t, i18n, { message: 'english', advice: 'fix it' })).toBe('english — fix it');
  });

  it('says a connection test’s summary by its code', () => {
    const x = connectionSummary(t, i18n, { code: 'connection.source_tls', params: { server: 'mariadb 10.11.6-MariaDB', mode: 'preferred' }, summary: 'mariadb 10.11.6-MariaDB; TLS (preferred)' });
    expect(x).toBe('mariadb 10.11.6-MariaDB；已使用 TLS 加密（preferred）');
  });

  it('says the server’s English rather than a text with a param the answer lacks', () => {
    const x = errorMessage(t, i18n, { code: 'DATASOURCE_IN_USE', message: 'the data source is used by project(s) a', advice: 'delete those projects' });
    expect(x.message).toBe('the data source is used by project(s) a');
  });

  it('falls back to the server’s English only for an unknown code', () => {
    const x = errorMessage(t, i18n, { code: 'SOMETHING_NEW', message: 'new text', advice: 'new advice' });
    expect(x).toEqual({ message: 'new text', advice: 'new advice' });
  });

  it('says a precheck finding and its fix by code, without the CLI’s file-oriented advice', () => {
    const x = precheckMessage(t, i18n, {
      status: 'fail',
      code: 'objects.resolve.failed',
      params: { error: 'boom' },
      message: 'boom',
      fix: 'fix the [[objects]] rules or the source connection, then rerun the precheck',
    });
    expect(x.detail).toBe('无法解析同步对象：boom');
    expect(x.fix).toContain('向导第 2 步');
    expect(x.fix).not.toContain('[[objects]]');
  });
});
