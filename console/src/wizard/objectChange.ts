// A running or paused project's object change: what the user's edit adds, removes and
// changes against the project's saved tables, and which added tables get a backfill.
// Pure functions, unit-tested in objectChange.test.ts; the server's preview has the last
// word (it also sees the tables that patterns name).
import type { Project, ProjectState } from '../api/types';
import { topicOf, type TableMapping } from './mapping';

/** One table whose topic or shard columns the edit changed. */
export interface ChangedTable {
  before: TableMapping;
  after: TableMapping;
}

export interface ObjectDiff {
  added: TableMapping[];
  removed: TableMapping[];
  changed: ChangedTable[];
}

/** Shard columns as compared: none chosen and an empty choice both mean the primary key. */
const shardText = (m: TableMapping) => (m.shard ?? []).join(',');

/** The edit's additions, removals and topic/shard changes, each sorted by table. */
export function diffMappings(before: TableMapping[], after: TableMapping[]): ObjectDiff {
  const old = new Map(before.map((m) => [m.table, m]));
  const now = new Map(after.map((m) => [m.table, m]));
  const byTable = (a: { table: string }, b: { table: string }) => a.table.localeCompare(b.table);
  const changed: ChangedTable[] = [];
  for (const m of after) {
    const was = old.get(m.table);
    if (was && (topicOf(was) !== topicOf(m) || shardText(was) !== shardText(m))) changed.push({ before: was, after: m });
  }
  return {
    added: after.filter((m) => !old.has(m.table)).sort(byTable),
    removed: before.filter((m) => !now.has(m.table)).sort(byTable),
    changed: changed.sort((a, b) => byTable(a.after, b.after)),
  };
}

export const isEmptyDiff = (d: ObjectDiff) => d.added.length + d.removed.length + d.changed.length === 0;

/**
 * The added tables to backfill: each one the user did not switch to "from now on"
 * (backfill is the default, so a table's existing rows are not silently missing).
 */
export function backfillTables(added: TableMapping[], fromNowOn: ReadonlySet<string>): string[] {
  return added.map((m) => m.table).filter((table) => !fromNowOn.has(table));
}

/**
 * The states in which a project's objects change while it keeps its checkpoint (a project
 * that has not started is edited through the wizard instead).
 */
export const OBJECT_CHANGE_STATES: readonly ProjectState[] = ['running', 'paused', 'failed'];

export const canChangeObjects = (p: Pick<Project, 'state'>) => OBJECT_CHANGE_STATES.includes(p.state);
