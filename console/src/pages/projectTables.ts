// The rows of the detail page's per-table panel. Pure, unit-tested in projectTables.test.ts.
import type { BackfillProgress } from '../api/objects';
import type { ObjectMapping, Project, TableCounts } from '../api/types';
import { fromObjects } from '../wizard/mapping';

/** One row of the per-table panel: what Kafka acknowledged and, if any, the table's backfill. */
export interface TableRow extends TableCounts {
  backfill?: BackfillProgress;
  /** Named in the project's objects now (a removed table's counts stay listed). */
  current: boolean;
}

/**
 * The tables of the project, for the project's objects and every table with counts:
 * since `patterns` cannot be listed here, a project with pattern rules counts every table
 * with acknowledged messages as current.
 */
export function tableRows(objects: Project['spec']['objects'], counts: TableCounts[], backfills: BackfillProgress[]): TableRow[] {
  const { mappings, kept } = fromObjects(objects as ObjectMapping[]);
  const named = new Set(mappings.map((m) => m.table));
  const zero = (table: string): TableCounts => ({ table, snapshot_rows: 0, inserts: 0, updates: 0, deletes: 0 });
  const rows = new Map<string, TableRow>();
  for (const table of named) rows.set(table, { ...zero(table), current: true });
  for (const c of counts) rows.set(c.table, { ...c, current: named.has(c.table) || kept.length > 0 });
  for (const b of backfills) {
    const row = rows.get(b.table) ?? { ...zero(b.table), current: true };
    rows.set(b.table, { ...row, backfill: b });
  }
  return [...rows.values()].sort((a, b) => a.table.localeCompare(b.table));
}
