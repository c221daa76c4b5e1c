import { describe, expect, it } from 'vitest';
import { tableRows } from './projectTables';

const counts = (table: string, snapshot_rows: number) => ({ table, snapshot_rows, inserts: 1, updates: 0, deletes: 0 });

describe('the per-table panel', () => {
  it('lists the named tables, also before any count, and a removed table with its counts as not current', () => {
    const rows = tableRows([{ tables: ['shop.orders', 'shop.new'], topic: 'shop' }], [counts('shop.orders', 5), counts('shop.gone', 3)], []);
    expect(rows.map((r) => [r.table, r.snapshot_rows, r.current])).toEqual([
      ['shop.gone', 3, false],
      ['shop.new', 0, true],
      ['shop.orders', 5, true],
    ]);
  });

  it('counts every table with messages as current when pattern rules name tables the console cannot list', () => {
    const rows = tableRows([{ tables: ['shop.*'], topic: 'shop' }], [counts('shop.a', 1)], []);
    expect(rows.map((r) => [r.table, r.current])).toEqual([['shop.a', true]]);
  });

  it('puts each backfill on its table', () => {
    const backfill = { table: 'shop.new', state: 'running' as const, chunks: 2, rows: 2048 };
    const rows = tableRows([{ tables: ['shop.orders', 'shop.new'], topic: 'shop' }], [counts('shop.orders', 5)], [backfill]);
    expect(rows.find((r) => r.table === 'shop.new')?.backfill).toEqual(backfill);
    expect(rows.find((r) => r.table === 'shop.orders')?.backfill).toBeUndefined();
  });
});
