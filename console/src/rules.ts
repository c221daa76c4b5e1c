// The form rules, as pure functions so they are unit-tested (rules.test.ts). The limits and
// characters come from the server (`api/rules.generated.json`, written by the server's
// `tests/rules.rs` from the constants its own checks use), so the console refuses at the
// field exactly what the server would refuse on save. Each check returns null when the
// value is fine, else a dictionary key (with its interpolation values) that says what is
// wrong and how to fix it.
import type { RuleObject } from 'antd/es/form';
import type { TFunction } from 'i18next';
import generated from './api/rules.generated.json';

export interface RuleError {
  key: string;
  values?: Record<string, string | number>;
}

/** A name's rule as the server publishes it (see `obsync_server::rules::NameRule`). */
export interface NameRule {
  min_chars: number;
  max_chars: number;
  no_whitespace: boolean;
  /** When set, only ASCII letters and digits, these, and (with `chinese`) Chinese characters. */
  allowed_punctuation: string | null;
  chinese: boolean;
}

/** The server's rules. */
export const RULES = generated as {
  data_source_name: NameRule;
  project_name: NameRule;
  tag_name: NameRule;
  username: NameRule;
  password: NameRule;
  topic: { name: NameRule; batch_template: string };
  objects: { unmappable_chars: string; chinese_ranges: [number, number][] };
  max_tags: number;
  hidden_ranges: [number, number][];
};

export type NamedRule = 'data_source_name' | 'project_name' | 'tag_name' | 'username' | 'password';

const inRanges = (c: string, ranges: [number, number][]) => {
  const code = c.codePointAt(0) ?? 0;
  return ranges.some(([first, last]) => code >= first && code <= last);
};

export function isChineseChar(c: string): boolean {
  return inRanges(c, RULES.objects.chinese_ranges);
}

/** A control or invisible format character, which no name may hold (it makes a name look like another). */
export function isHiddenChar(c: string): boolean {
  return inRanges(c, RULES.hidden_ranges);
}

export function hasChinese(name: string): boolean {
  return [...name].some(isChineseChar);
}

const ASCII_ALNUM = /^[A-Za-z0-9]$/;

/** The first character `rule` does not allow, if any. */
function badChar(rule: NameRule, value: string): string | null {
  for (const c of value) {
    if (rule.no_whitespace && /\s/u.test(c)) return c;
    if (rule.allowed_punctuation === null) continue;
    if (ASCII_ALNUM.test(c) || rule.allowed_punctuation.includes(c) || (rule.chinese && isChineseChar(c))) continue;
    return c;
  }
  return null;
}

/** Characters a password length counts: the server limits bytes, as UTF-8. */
const length = (rule: NamedRule, value: string) => (rule === 'password' ? new TextEncoder().encode(value).length : [...value].length);

/**
 * `value` against a published name rule: `rules.generic.*` keys. Empty values are left to
 * the form's own "required" message.
 */
export function checkName(rule: NamedRule, value: string): RuleError | null {
  const r = RULES[rule];
  if (value.length === 0) return null;
  if ([...value].length < r.min_chars) return { key: 'rules.generic.tooShort', values: { min: r.min_chars } };
  if (length(rule, value) > r.max_chars) return { key: 'rules.generic.tooLong', values: { max: r.max_chars } };
  const hidden = rule === 'password' ? undefined : [...value].find(isHiddenChar);
  if (hidden !== undefined) return { key: 'rules.generic.hidden', values: { code: `U+${hidden.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` } };
  const bad = badChar(r, value);
  if (bad !== null) {
    if (/\s/u.test(bad)) return { key: 'rules.generic.noSpaces' };
    return { key: r.chinese ? 'rules.generic.charsChinese' : 'rules.generic.chars', values: { char: bad, allowed: r.allowed_punctuation ?? '' } };
  }
  return null;
}

/** antd Form rules for a published name rule (add the form's own `required`). */
export function nameRules(t: TFunction, rule: NamedRule): RuleObject[] {
  return [
    {
      validator: (_, value: unknown) => {
        const problem = checkName(rule, typeof value === 'string' ? value : '');
        return problem ? Promise.reject(new Error(t(problem.key, problem.values))) : Promise.resolve();
      },
    },
  ];
}

export const PROJECT_NAME_MAX = RULES.project_name.max_chars;

/** A project name: 1–64 characters, each a Chinese character, a letter or a digit. */
export function checkProjectName(name: string): RuleError | null {
  if (name.length === 0) return { key: 'rules.name.required' };
  if ([...name].length > PROJECT_NAME_MAX) return { key: 'rules.name.tooLong', values: { max: PROJECT_NAME_MAX } };
  if (badChar(RULES.project_name, name) !== null) return { key: 'rules.name.chars' };
  return null;
}

const TOPIC = RULES.topic.name;

/** A new topic's name: 3–64 characters of A-Z a-z 0-9 - _ . */
export function checkTopicName(name: string): RuleError | null {
  if (name.length === 0) return { key: 'rules.topic.required' };
  const count = [...name].length;
  if (count < TOPIC.min_chars || count > TOPIC.max_chars) return { key: 'rules.topic.length', values: { min: TOPIC.min_chars, max: TOPIC.max_chars } };
  if (badChar(TOPIC, name) !== null) return { key: 'rules.topic.chars', values: { allowed: TOPIC.allowed_punctuation ?? '' } };
  return null;
}

/** The batch rule's topic for a table, as OMS names it: Topic_${Database Name}_${Table Name}. */
export function batchTopic(database: string, table: string): string {
  return RULES.topic.batch_template.replace('{database}', database).replace('{table}', table);
}

/**
 * Why a table cannot be mapped at all (null when it can): a Chinese character or a
 * character the server cannot map (`.`, a backquote) in the database or table name.
 */
export function checkMappable(database: string, table: string): RuleError | null {
  for (const name of [database, table]) {
    if (hasChinese(name)) return { key: 'rules.object.chinese' };
    const bad = [...name].find((c) => RULES.objects.unmappable_chars.includes(c));
    if (bad) return { key: 'rules.object.unmappable', values: { char: bad } };
  }
  return null;
}

/** Why a table cannot go to its batch-rule topic (null when it can): the built name breaks the topic rule. */
export function checkBatchTopic(database: string, table: string): RuleError | null {
  const topic = batchTopic(database, table);
  const problem = checkTopicName(topic);
  if (!problem) return null;
  return { key: 'rules.object.batchTopic', values: { topic, max: TOPIC.max_chars, allowed: TOPIC.allowed_punctuation ?? '' } };
}

/**
 * An incremental start time in Unix seconds: a whole number, after 1970, not in the future.
 * `nowSeconds` is passed in so the rule is a pure function.
 */
export function checkStartTime(value: number | string | null | undefined, nowSeconds: number): RuleError | null {
  if (value === null || value === undefined || value === '') return null; // null = now
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) return { key: 'rules.startTime.notNumber' };
  const seconds = Number(text);
  if (seconds <= 0) return { key: 'rules.startTime.notNumber' };
  if (seconds > nowSeconds) return { key: 'rules.startTime.future' };
  return null;
}

export interface ColumnChoice {
  name: string;
  invalid_reason?: string | null;
}

/**
 * Shard columns picked for a table: each must be one of the table's columns, valid, and named
 * once. An empty choice is allowed: the primary key is then used.
 */
export function checkShardColumns(picked: string[], columns: ColumnChoice[]): RuleError | null {
  const seen = new Set<string>();
  for (const name of picked) {
    const column = columns.find((c) => c.name === name);
    if (!column) return { key: 'rules.shard.unknown', values: { column: name } };
    if (column.invalid_reason || hasChinese(name)) return { key: 'rules.shard.invalid', values: { column: name } };
    if (seen.has(name)) return { key: 'rules.shard.duplicate', values: { column: name } };
    seen.add(name);
  }
  return null;
}
