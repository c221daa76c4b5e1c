// Cluster mode: which node runs each project, from `GET /api/v1/cluster` (the status
// topic as this server read it). Outside a cluster the console shows nothing of it.
import { useQuery } from '@tanstack/react-query';
import { get } from './client';
import type { ClusterView } from './types';

export const clusterKeys = {
  all: ['cluster'] as const,
};

/** How often the owners are asked again: a failover moves them within seconds. */
export const CLUSTER_POLL_MS = 5_000;

export function useCluster() {
  return useQuery({ queryKey: clusterKeys.all, queryFn: () => get<ClusterView>('/cluster'), refetchInterval: CLUSTER_POLL_MS });
}

/**
 * Project id → the node running it (null while none does); null itself outside cluster
 * mode (or before the answer came), where no owner is shown at all.
 */
export function projectOwners(view: ClusterView | undefined): Map<string, string | null> | null {
  if (!view?.name) return null;
  return new Map(view.projects.map((p) => [p.id, p.owner ?? null]));
}

/** The owner of `id` as a cluster-mode view shows it: the node, or null when none runs it. */
export function ownerOf(owners: Map<string, string | null>, id: string): string | null {
  return owners.get(id) ?? null;
}
