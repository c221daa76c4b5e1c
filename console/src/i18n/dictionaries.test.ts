// Every visible text comes from the dictionaries: both languages have the same keys, and every
// key the code asks for, literal or built from a known list, exists in both.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import en from './en.json';
import zhCN from './zh-CN.json';
import { STATES } from '../pages/Projects';
import { FORMATS } from '../wizard/StepOptions';

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
  const stages = ['schema', 'full', 'incremental'];
  return [
    ...STATES.map((s) => `state.${s}`),
    ...stages.map((s) => `stage.${s}`),
    ...stages.map((s) => `wizard.objects.typeNote.${s}`),
    ...['oceanbase', 'mysql', 'mariadb', 'kafka'].map((k) => `kind.${k}`),
    ...FORMATS.flatMap((f) => [`format.${f}`, `wizard.options.formatNote.${f}`]),
    ...['hash', 'one'].flatMap((r) => [`wizard.options.${r}`, `wizard.options.partitionNote.${r}`]),
    ...['pass', 'fail', 'warn', 'not_checked'].map((s) => `precheck.statuses.${s}`),
    ...['start', 'pause', 'resume', 'release', 'clone', 'export', 'delete'].map((a) => `detail.actions.${a}`),
    ...['start', 'pause', 'resume', 'release'].map((a) => `detail.done.${a}`),
    ...['state', 'audit', 'error', 'notice'].map((k) => `events.${k}`),
  ];
}

describe('dictionaries', () => {
  it('zh-CN and en have exactly the same keys', () => {
    const enKeys = [...dictionaries.en.keys()];
    const zhKeys = [...dictionaries['zh-CN'].keys()];
    expect(enKeys.filter((k) => !dictionaries['zh-CN'].has(k)), 'missing in zh-CN').toEqual([]);
    expect(zhKeys.filter((k) => !dictionaries.en.has(k)), 'missing in en').toEqual([]);
  });

  it('have every key the code uses, in both languages', () => {
    const used = [...literalKeys(), ...builtKeys()];
    expect(used.length).toBeGreaterThan(200);
    for (const [language, dict] of Object.entries(dictionaries)) {
      expect(used.filter((k) => !dict.has(k)), `missing in ${language}`).toEqual([]);
    }
  });

  it('use the same interpolation values in both languages', () => {
    const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of dictionaries.en) {
      expect(vars(dictionaries['zh-CN'].get(key) ?? ''), key).toEqual(vars(text));
    }
  });

  it('have no empty texts', () => {
    for (const [language, dict] of Object.entries(dictionaries)) {
      expect([...dict].filter(([, v]) => v.trim() === '').map(([k]) => k), language).toEqual([]);
    }
  });
});
