// Every visible text comes from the dictionaries: both languages have the same keys, and every
// key the code asks for, literal or built from a known list, exists in both.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from './en.json';
import zhCN from './zh-CN.json';
import { STAGES, STATES } from '../api/vocabulary';
import { FORMATS } from '../wizard/StepOptions';
import { ROLES } from '../pages/Users';

type Dict = { [key: string]: string | Dict };

function flatten(dict: Dict, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(dict)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.test.ts') ? [path] : [];
  });
}

const dictionaries = { en: flatten(en as Dict), 'zh-CN': flatten(zhCN as Dict) };
/** The plural forms each language needs (i18next's `key_one`, `key_other`, from Intl.PluralRules). */
const PLURAL_FORMS: Record<keyof typeof dictionaries, string[]> = { en: ['one', 'other'], 'zh-CN': ['other'] };
const PLURAL = /_(zero|one|two|few|many|other)$/;

/** The key the code asks for: `detail.topicsCreated` for `detail.topicsCreated_one`. */
const base = (key: string) => key.replace(PLURAL, '');
const has = (dict: Map<string, string>, key: string) => dict.has(key) || dict.has(`${key}_other`);
const NAMESPACES = Object.keys(en).join('|');

/** Keys written literally in the code: t('a.b'), or a 'a.b' string handed to t later. */
function literalKeys(): Set<string> {
  const pattern = new RegExp(`['"\`]((?:${NAMESPACES})\\.[A-Za-z0-9_.]+)['"\`]`, 'g');
  const keys = new Set<string>();
  for (const file of sources(join(__dirname, '..'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(pattern)) keys.add(m[1]);
  }
  return keys;
}

/** Keys the code builds from a value of a known list: t(`state.${state}`) and the like. */
function builtKeys(): string[] {
  return [
    ...STATES.map((s) => `state.${s}`),
    ...STAGES.map((s) => `stage.${s}`),
    ...STAGES.map((s) => `wizard.objects.typeNote.${s}`),
    ...['oceanbase', 'mysql', 'mariadb', 'kafka'].map((k) => `kind.${k}`),
    ...FORMATS.flatMap((f) => [`format.${f}`, `wizard.options.formatNote.${f}`]),
    ...['hash', 'one'].flatMap((r) => [`wizard.options.${r}`, `wizard.options.partitionNote.${r}`]),
    ...['pass', 'fail', 'warn', 'not_checked'].map((s) => `precheck.statuses.${s}`),
    ...['start', 'pause', 'resume', 'release', 'clone', 'export', 'delete'].map((a) => `detail.actions.${a}`),
    ...['start', 'pause', 'resume', 'release'].map((a) => `detail.done.${a}`),
    ...['state', 'audit', 'error', 'notice', 'security'].map((k) => `events.${k}`),
    ...ROLES.map((r) => `users.roles.${r}`),
    ...['pending', 'running', 'done'].map((s) => `objects.backfillState.${s}`),
  ];
}

describe('dictionaries', () => {
  it('zh-CN and en have exactly the same keys, plural forms aside', () => {
    const enKeys = new Set([...dictionaries.en.keys()].map(base));
    const zhKeys = new Set([...dictionaries['zh-CN'].keys()].map(base));
    expect([...enKeys].filter((k) => !zhKeys.has(k)), 'missing in zh-CN').toEqual([]);
    expect([...zhKeys].filter((k) => !enKeys.has(k)), 'missing in en').toEqual([]);
  });

  it('have every plural form each language needs, and no other', () => {
    for (const [language, dict] of Object.entries(dictionaries) as [keyof typeof dictionaries, Map<string, string>][]) {
      const plurals = new Set([...dict.keys()].filter((k) => PLURAL.test(k)).map(base));
      for (const key of plurals) {
        const forms = [...dict.keys()].filter((k) => base(k) === key && PLURAL.test(k)).map((k) => PLURAL.exec(k)![1]).sort();
        expect(forms, `${language}: ${key}`).toEqual([...PLURAL_FORMS[language]].sort());
        expect(dict.has(key), `${language}: ${key} has plural forms and a plain text`).toBe(false);
        for (const form of forms) expect(dict.get(`${key}_${form}`), `${language}: ${key}_${form} shows the count`).toMatch(/\{\{count\}\}|\{\{n\}\}/);
      }
    }
  });

  it('have every key the code uses, in both languages', () => {
    const used = [...literalKeys(), ...builtKeys()];
    expect(used.length).toBeGreaterThan(200);
    for (const [language, dict] of Object.entries(dictionaries)) {
      expect(used.filter((k) => !has(dict, k)), `missing in ${language}`).toEqual([]);
    }
  });

  it('use the same interpolation values in both languages', () => {
    const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of dictionaries.en) {
      // Every English plural form against the one Chinese form.
      const zh = dictionaries['zh-CN'].get(key) ?? dictionaries['zh-CN'].get(`${base(key)}_other`) ?? '';
      expect(vars(zh), key).toEqual(vars(text));
    }
  });

  it('have no empty texts', () => {
    for (const [language, dict] of Object.entries(dictionaries)) {
      expect([...dict].filter(([, v]) => v.trim() === '').map(([k]) => k), language).toEqual([]);
    }
  });
});

describe('plurals', () => {
  it('counts read right in both languages', async () => {
    const { default: i18n } = await import('./index');
    const en = i18n.getFixedT('en');
    const zh = i18n.getFixedT('zh-CN');
    expect(en('detail.topicsCreated', { count: 1 })).toBe('1 topic');
    expect(en('detail.topicsCreated', { count: 2 })).toBe('2 topics');
    expect(en('wizard.map.title', { count: 1 })).toBe('Map objects to topic (1 table)');
    expect(en('detail.acked', { count: 1000, n: '1,000' })).toBe('1,000 messages acknowledged by Kafka');
    expect(zh('detail.topicsCreated', { count: 1 })).toBe('1 个 Topic');
    expect(zh('wizard.map.partitions', { count: 3 })).toBe('3 个分区');
  });
});
