// Every code the server can send (docs/message-codes.json, written by the server from its
// code enums) has its texts in both languages, and no text names a parameter its code does
// not carry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import i18next from 'i18next';
import { describe, expect, it } from 'vitest';
import en from './en.json';
import zhCN from './zh-CN.json';
import { errorMessage, eventMessage, precheckMessage } from './messages';

type Catalog = { errors: Record<string, string[]>; events: Record<string, string[]>; precheck: Record<string, string[]> };
const catalog: Catalog = JSON.parse(readFileSync(join(__dirname, '../../../docs/message-codes.json'), 'utf8'));

/** Codes whose message is the broken rule's own text (the advice is still by code). */
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
  for (const [code, params] of Object.entries(catalog.events)) {
    out.push({ key: `messages.events.${code}`, params, value: text(dict, `messages.events.${code}`) });
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
