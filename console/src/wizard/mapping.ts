// The wizard's table → topic mapping and its conversion to the API's ProjectSpec objects.
// Pure functions, unit-tested in mapping.test.ts.
import type { ObjectMapping } from '../api/types';
import { batchTopic } from '../rules';

/** One selected table and where it goes. */
export interface TableMapping {
  /** "db.table" */
  table: string;
  database: string;
  name: string;
  /** A named topic (new or existing); null when the batch rule names it. */
  topic: string | null;
  /** Shard columns chosen by the user; null = the primary key. */
  shard: string[] | null;
}

export function splitTable(qualified: string): { database: string; name: string } {
  const dot = qualified.indexOf('.');
  return { database: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
}

/** The topic a mapping writes to, the batch rule's name included. */
export function topicOf(m: TableMapping): string {
  return m.topic ?? batchTopic(m.database, m.name);
}

/** Adds the tables with the given destination; a table already mapped moves to it. */
export function assign(mappings: TableMapping[], tables: string[], topic: string | null): TableMapping[] {
  const byTable = new Map(mappings.map((m) => [m.table, m]));
  for (const table of tables) {
    const old = byTable.get(table);
    byTable.set(table, { ...splitTable(table), table, topic, shard: old?.shard ?? null });
  }
  return [...byTable.values()];
}

/** The spec's objects: one entry per named topic, one for every batch-rule table. */
export function toObjects(mappings: TableMapping[]): ObjectMapping[] {
  const named = new Map<string, TableMapping[]>();
  const batch: TableMapping[] = [];
  for (const m of mappings) {
    if (m.topic === null) batch.push(m);
    else named.set(m.topic, [...(named.get(m.topic) ?? []), m]);
  }
  const entry = (ms: TableMapping[], target: Pick<ObjectMapping, 'topic' | 'topic_rule'>): ObjectMapping => {
    const shard: Record<string, string[]> = {};
    for (const m of ms) if (m.shard && m.shard.length > 0) shard[m.table] = m.shard;
    return { tables: ms.map((m) => m.table), ...target, exclude: [], shard_columns: shard };
  };
  const objects = [...named.entries()].map(([topic, ms]) => entry(ms, { topic, topic_rule: null }));
  if (batch.length > 0) objects.push(entry(batch, { topic: null, topic_rule: 'batch' }));
  return objects;
}

/** The target tree Topic > Database > Table, sorted by name at each level. */
export function targetTree(mappings: TableMapping[]): { topic: string; databases: { database: string; tables: TableMapping[] }[] }[] {
  const topics = new Map<string, Map<string, TableMapping[]>>();
  for (const m of mappings) {
    const topic = topicOf(m);
    const dbs = topics.get(topic) ?? new Map<string, TableMapping[]>();
    dbs.set(m.database, [...(dbs.get(m.database) ?? []), m]);
    topics.set(topic, dbs);
  }
  return [...topics.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, dbs]) => ({
      topic,
      databases: [...dbs.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([database, tables]) => ({ database, tables: tables.sort((x, y) => x.name.localeCompare(y.name)) })),
    }));
}

/** Whether a `tables` entry of a project file is a pattern rather than one table's name. */
export function isPattern(entry: string): boolean {
  return /[*?[\]]/.test(entry) || !entry.includes('.');
}

/**
 * The wizard's mappings for a saved project's objects (edit and clone), and the objects
 * the wizard cannot show as table mappings (patterns, excludes, other topic rules): those
 * are kept as they are and written back unchanged.
 */
export function fromObjects(objects: ObjectMapping[]): { mappings: TableMapping[]; kept: ObjectMapping[] } {
  const mappings: TableMapping[] = [];
  const kept: ObjectMapping[] = [];
  for (const o of objects) {
    const batch = o.topic_rule === 'batch' && !o.topic;
    const named = !!o.topic && !o.topic_rule;
    const plain = o.tables.every((t) => !isPattern(t)) && (o.exclude ?? []).length === 0;
    if (!plain || !(batch || named)) {
      kept.push(o);
      continue;
    }
    for (const table of o.tables) {
      const shard = o.shard_columns?.[table];
      mappings.push({ ...splitTable(table), table, topic: batch ? null : (o.topic ?? null), shard: shard && shard.length > 0 ? shard : null });
    }
  }
  return { mappings, kept };
}
