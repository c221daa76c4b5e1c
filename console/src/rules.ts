// The wizard's form rules, as pure functions so they are unit-tested (rules.test.ts). Each returns
// null when the value is fine, else a dictionary key (with its interpolation values) that says
// what is wrong and how to fix it.

export interface RuleError {
  key: string;
  values?: Record<string, string | number>;
}

/** Chinese characters (CJK unified ideographs, extension A, compatibility ideographs). */
const CHINESE = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

export function hasChinese(name: string): boolean {
  return CHINESE.test(name);
}

export const PROJECT_NAME_MAX = 64;
const PROJECT_NAME = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z0-9]+$/;

/** A project name: 1–64 characters, each a Chinese character, a letter or a digit. */
export function checkProjectName(name: string): RuleError | null {
  if (name.length === 0) return { key: 'rules.name.required' };
  if ([...name].length > PROJECT_NAME_MAX) return { key: 'rules.name.tooLong', values: { max: PROJECT_NAME_MAX } };
  if (!PROJECT_NAME.test(name)) return { key: 'rules.name.chars' };
  return null;
}

const TOPIC = /^[A-Za-z0-9._-]{3,64}$/;

/** A new topic's name: 3–64 characters of A-Z a-z 0-9 - _ . */
export function checkTopicName(name: string): RuleError | null {
  if (name.length === 0) return { key: 'rules.topic.required' };
  if (name.length < 3 || name.length > 64) return { key: 'rules.topic.length', values: { min: 3, max: 64 } };
  if (!TOPIC.test(name)) return { key: 'rules.topic.chars' };
  return null;
}

/** The batch rule's topic for a table, as OMS names it: Topic_${Database Name}_${Table Name}. */
export function batchTopic(database: string, table: string): string {
  return `Topic_${database}_${table}`;
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
