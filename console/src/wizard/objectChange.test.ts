import { describe, expect, it } from 'vitest';
import { assign } from './mapping';
import { backfillTables, diffMappings, isEmptyDiff } from './objectChange';

const saved = assign(assign([], ['shop.orders', 'shop.items'], 'shop'), ['crm.users'], null);

describe('an object change against the saved tables', () => {
  it('is empty when nothing moved, also when the same tables were removed and added back', () => {
    expect(isEmptyDiff(diffMappings(saved, saved))).toBe(true);
    const removedAndBack = assign(saved.filter((m) => m.table !== 'crm.users'), ['crm.users'], null);
    expect(isEmptyDiff(diffMappings(saved, removedAndBack))).toBe(true);
  });

  it('lists added and removed tables by name', () => {
    const edited = assign(saved.filter((m) => m.table !== 'shop.items'), ['crm.leads', 'crm.accounts'], 'crm');
    const d = diffMappings(saved, edited);
    expect(d.added.map((m) => m.table)).toEqual(['crm.accounts', 'crm.leads']);
    expect(d.removed.map((m) => m.table)).toEqual(['shop.items']);
    expect(d.changed).toEqual([]);
  });

  it('sees a new topic and new shard columns as changes, and an empty shard choice as none', () => {
    let edited = assign(saved, ['crm.users'], 'users');
    edited = edited.map((m) => (m.table === 'shop.orders' ? { ...m, shard: ['customer_id'] } : m.table === 'shop.items' ? { ...m, shard: [] } : m));
    const d = diffMappings(saved, edited);
    expect(d.changed.map((c) => [c.after.table, c.before.topic, c.after.topic, c.after.shard])).toEqual([
      ['crm.users', null, 'users', null],
      ['shop.orders', 'shop', 'shop', ['customer_id']],
    ]);
  });

  it('a named topic equal to the batch rule name is no change: the messages go to the same topic', () => {
    const edited = assign(saved, ['crm.users'], 'Topic_crm_users');
    expect(isEmptyDiff(diffMappings(saved, edited))).toBe(true);
  });
});

describe('backfill of added tables', () => {
  it('is the default; only tables switched to "from now on" go without', () => {
    const added = assign([], ['crm.a', 'crm.b', 'crm.c'], 'crm');
    expect(backfillTables(added, new Set())).toEqual(['crm.a', 'crm.b', 'crm.c']);
    expect(backfillTables(added, new Set(['crm.b', 'shop.gone']))).toEqual(['crm.a', 'crm.c']);
  });
});
