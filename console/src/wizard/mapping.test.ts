import { describe, expect, it } from 'vitest';
import type { ObjectMapping } from '../api/types';
import { assign, fromObjects, targetTree, toObjects } from './mapping';

describe('table to topic mapping', () => {
  it('groups named topics and puts batch-rule tables in one entry', () => {
    let m = assign([], ['shop.orders', 'shop.items'], 'shop-orders');
    m = assign(m, ['crm.users'], null);
    m = m.map((x) => (x.table === 'shop.orders' ? { ...x, shard: ['customer_id'] } : x));
    expect(toObjects(m)).toEqual([
      { tables: ['shop.orders', 'shop.items'], topic: 'shop-orders', topic_rule: null, exclude: [], shard_columns: { 'shop.orders': ['customer_id'] } },
      { tables: ['crm.users'], topic: null, topic_rule: 'batch', exclude: [], shard_columns: {} },
    ]);
  });
  it('moves a table to its new topic and keeps its shard columns', () => {
    let m = assign([], ['shop.orders'], 'a-topic');
    m = m.map((x) => ({ ...x, shard: ['id'] }));
    m = assign(m, ['shop.orders'], 'b-topic');
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ topic: 'b-topic', shard: ['id'] });
  });
  it('builds the Topic > Database > Table tree with batch names', () => {
    const m = assign(assign([], ['shop.orders', 'crm.users'], 'all-topic'), ['crm.leads'], null);
    const tree = targetTree(m);
    expect(tree.map((t) => t.topic)).toEqual(['all-topic', 'Topic_crm_leads']);
    expect(tree[0].databases.map((d) => [d.database, d.tables.map((t) => t.name)])).toEqual([
      ['crm', ['users']],
      ['shop', ['orders']],
    ]);
  });
});

describe('a saved project back into the wizard', () => {
  it('turns named-topic and batch-rule objects into mappings that give the same objects again', () => {
    const objects: ObjectMapping[] = [
      { tables: ['shop.orders', 'shop.items'], topic: 'orders', topic_rule: null, exclude: [], shard_columns: { 'shop.items': ['order_id'] } },
      { tables: ['shop.users'], topic: null, topic_rule: 'batch', exclude: [], shard_columns: {} },
    ];
    const { mappings, kept } = fromObjects(objects);
    expect(kept).toEqual([]);
    expect(mappings.map((m) => [m.table, m.topic, m.shard])).toEqual([
      ['shop.orders', 'orders', null],
      ['shop.items', 'orders', ['order_id']],
      ['shop.users', null, null],
    ]);
    expect(toObjects(mappings)).toEqual(objects);
  });

  it('keeps patterns and excludes as they are', () => {
    const pattern = { tables: ['shop.*'], topic: 'all', exclude: ['shop.tmp'] };
    const bare = { tables: ['logs'], topic: 'logs' };
    const { mappings, kept } = fromObjects([pattern, bare, { tables: ['shop.a'], topic: 't1' }]);
    expect(kept).toEqual([pattern, bare]);
    expect(mappings.map((m) => m.table)).toEqual(['shop.a']);
  });
});
