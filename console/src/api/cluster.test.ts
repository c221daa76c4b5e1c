import { describe, expect, it } from 'vitest';
import { ownerOf, projectOwners } from './cluster';
import type { ClusterView } from './types';

const project = (id: string, owner: string | null) => ({ id, name: id, state: 'running' as const, bucket: 1, owner });

describe('projectOwners', () => {
  it('is null outside cluster mode, so no owner is shown', () => {
    const alone: ClusterView = { name: null, node: null, buckets: null, owned_buckets: [], projects: [project('np_1', null)] };
    expect(projectOwners(alone)).toBeNull();
    expect(projectOwners(undefined)).toBeNull();
  });

  it('maps each project to the node running it, none for one that no node runs', () => {
    const view: ClusterView = { name: 'prod', node: 'n1', buckets: 8, owned_buckets: [0, 1], projects: [project('np_1', 'n2'), project('np_2', null)] };
    const owners = projectOwners(view)!;
    expect(ownerOf(owners, 'np_1')).toBe('n2');
    expect(ownerOf(owners, 'np_2')).toBeNull();
    // A project created a moment ago, not in the view yet.
    expect(ownerOf(owners, 'np_3')).toBeNull();
  });
});
