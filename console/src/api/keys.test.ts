import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { dataSourceKeys } from './datasources';
import { projectKeys } from './projects';
import { sessionKeys } from './session';
import { tagKeys } from './tags';
import { userKeys } from './users';

/** Whether `prefix` is a prefix of `key` (how TanStack Query matches an invalidation). */
const under = (key: readonly unknown[], prefix: readonly unknown[]) => prefix.every((part, i) => JSON.stringify(part) === JSON.stringify(key[i]));

describe('query key factories', () => {
  it('put every view of a project under its detail key, and nothing of another project', () => {
    const views = [
      projectKeys.progress('a'),
      projectKeys.precheck('a'),
      projectKeys.metrics('a'),
      projectKeys.events('a', 2),
      projectKeys.messages('a', { topic: 't', partition: null, limit: 20 }),
      projectKeys.verify('a'),
    ];
    for (const key of views) {
      expect(under(key, projectKeys.detail('a')), JSON.stringify(key)).toBe(true);
      expect(under(key, projectKeys.detail('b')), JSON.stringify(key)).toBe(false);
      expect(under(key, projectKeys.lists())).toBe(false);
    }
    expect(under(projectKeys.list({ state: 'running' }, { page: 1, page_size: 20 }), projectKeys.lists())).toBe(true);
    expect(under(projectKeys.detail('a'), projectKeys.lists())).toBe(false);
  });

  it('put what is browsed through a data source under that data source', () => {
    for (const key of [dataSourceKeys.databases('s'), dataSourceKeys.tables('s', 'shop'), dataSourceKeys.columns('s', 'shop', 'orders'), dataSourceKeys.topics('s')]) {
      expect(under(key, dataSourceKeys.one('s'))).toBe(true);
      expect(under(key, dataSourceKeys.one('s2'))).toBe(false);
      expect(under(key, dataSourceKeys.all)).toBe(true);
    }
    expect(under(dataSourceKeys.tables('s', 'a'), dataSourceKeys.tables('s', 'b'))).toBe(false);
  });

  it('give every resource its own root', () => {
    const roots = [projectKeys.all, dataSourceKeys.all, tagKeys.all, userKeys.all, sessionKeys.me].map((k) => k[0]);
    expect(new Set(roots).size).toBe(roots.length);
  });

  it('invalidate exactly one project when its detail key is invalidated', async () => {
    const client = new QueryClient();
    const keys = [projectKeys.detail('a'), projectKeys.progress('a'), projectKeys.events('a', 1), projectKeys.detail('b'), projectKeys.list({}, { page: 1, page_size: 20 }), tagKeys.list()];
    for (const key of keys) client.setQueryData(key, 1);
    await client.invalidateQueries({ queryKey: projectKeys.detail('a') });
    const stale = keys.filter((key) => client.getQueryState(key)?.isInvalidated);
    expect(stale).toEqual([projectKeys.detail('a'), projectKeys.progress('a'), projectKeys.events('a', 1)]);
  });
});
