// Projects: the lists, one project's live views (progress, precheck, metrics, events,
// messages, verify), and the changes. Every view of a project sits under its detail key,
// so a change to the project refreshes them all.
import { keepPreviousData, queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post, postText, put, qs } from './client';
import type { List, MetricPoint, Precheck, PreviewRecord, Progress, Project, ProjectAction, ProjectEvent, ProjectSpec, TopicMessages, Verify } from './types';
import { pollInterval } from './vocabulary';

export interface ProjectFilter {
  state?: string;
  tag?: string;
  q?: string;
}

export interface Page {
  page: number;
  page_size: number;
}

export interface MessageQuery {
  topic: string;
  partition: number | null;
  limit: number;
  key?: string;
}

export const projectKeys = {
  all: ['projects'] as const,
  lists: () => [...projectKeys.all, 'list'] as const,
  list: (filter: ProjectFilter, page: Page) => [...projectKeys.lists(), filter, page] as const,
  detail: (id: string) => [...projectKeys.all, 'id', id] as const,
  progress: (id: string) => [...projectKeys.detail(id), 'progress'] as const,
  precheck: (id: string) => [...projectKeys.detail(id), 'precheck'] as const,
  metrics: (id: string) => [...projectKeys.detail(id), 'metrics'] as const,
  events: (id: string, page: number) => [...projectKeys.detail(id), 'events', page] as const,
  messages: (id: string, query: MessageQuery) => [...projectKeys.detail(id), 'messages', query] as const,
  verify: (id: string) => [...projectKeys.detail(id), 'verify'] as const,
};

/** The largest page the API serves. */
export const MAX_PAGE_SIZE = 150;

/** A page of projects, polled as fast as the liveliest project on it needs. */
export function useProjects(filter: ProjectFilter, page: Page) {
  return useQuery({
    queryKey: projectKeys.list(filter, page),
    queryFn: () => get<List<Project>>('/projects' + qs({ ...filter, ...page })),
    refetchInterval: (q) => pollInterval(q.state.data?.items),
    placeholderData: keepPreviousData,
  });
}

export const projectQuery = (id: string) => queryOptions({ queryKey: projectKeys.detail(id), queryFn: () => get<Project>(`/projects/${id}`) });

/** One project, polled by its state; `enabled: false` for none. */
export function useProject(id: string | null | undefined, { poll = true }: { poll?: boolean } = {}) {
  return useQuery({
    ...projectQuery(id ?? ''),
    enabled: !!id,
    refetchInterval: poll ? (q) => pollInterval(q.state.data ? [q.state.data] : undefined) : false,
  });
}

/** Progress of a project in `project`'s state, polled at the same pace. */
export function useProgress(id: string, project: Project | undefined) {
  return useQuery({
    queryKey: projectKeys.progress(id),
    queryFn: () => get<Progress>(`/projects/${id}/progress`),
    refetchInterval: pollInterval(project ? [project] : undefined),
  });
}

/** The last precheck; a project never checked answers 404, which is not retried. */
export function usePrecheck(id: string) {
  return useQuery({ queryKey: projectKeys.precheck(id), queryFn: () => get<Precheck>(`/projects/${id}/precheck`), retry: false });
}

/** The last hour of samples (one a minute or so): polled slowly. */
export function useMetrics(id: string) {
  return useQuery({
    queryKey: projectKeys.metrics(id),
    queryFn: () => get<{ points: MetricPoint[] }>(`/projects/${id}/metrics?seconds=3600`),
    refetchInterval: 10_000,
  });
}

export function useEvents(id: string, page: number, project: Project | undefined) {
  return useQuery({
    queryKey: projectKeys.events(id, page),
    queryFn: () => get<List<ProjectEvent>>(`/projects/${id}/events?page=${page}`),
    refetchInterval: pollInterval(project ? [project] : undefined),
  });
}

export function useMessages(id: string, query: MessageQuery | null) {
  return useQuery({
    queryKey: projectKeys.messages(id, query ?? { topic: '', partition: null, limit: 0 }),
    queryFn: () => get<TopicMessages>(`/projects/${id}/messages` + qs({ ...query! })),
    enabled: query !== null,
    retry: false,
  });
}

/** The verify run; polled only while it runs. */
export function useVerify(id: string) {
  return useQuery({
    queryKey: projectKeys.verify(id),
    queryFn: () => get<Verify>(`/projects/${id}/verify`),
    refetchInterval: (q) => (q.state.data?.state === 'running' ? pollInterval(undefined) : false),
  });
}

export function useStartVerify(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => post<Verify>(`/projects/${id}/verify`),
    onSuccess: (v) => queryClient.setQueryData(projectKeys.verify(id), v),
  });
}

function useInvalidateProject() {
  const queryClient = useQueryClient();
  return async (id?: string) => {
    await queryClient.invalidateQueries({ queryKey: projectKeys.lists() });
    if (id) await queryClient.invalidateQueries({ queryKey: projectKeys.detail(id) });
  };
}

/** Creates (`id` null) or updates a not-started project. */
export function useSaveProject() {
  const invalidate = useInvalidateProject();
  return useMutation({
    mutationFn: ({ id, spec }: { id: string | null; spec: ProjectSpec }) => (id ? put<Project>(`/projects/${id}`, { spec }) : post<Project>('/projects', { spec })),
    onSuccess: (p) => invalidate(p.id),
  });
}

export function usePrecheckProject() {
  const invalidate = useInvalidateProject();
  return useMutation({
    mutationFn: (id: string) => post<Precheck>(`/projects/${id}/precheck`),
    onSettled: (_, __, id) => invalidate(id),
  });
}

/** A lifecycle action but precheck (which answers a precheck): start, pause, resume, release. */
export type LifecycleAction = Exclude<ProjectAction, 'precheck' | 'edit' | 'delete' | 'clone'>;

export function useProjectAction() {
  const invalidate = useInvalidateProject();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: LifecycleAction }) => post<Project>(`/projects/${id}/${action}`),
    onSettled: (_, __, { id }) => invalidate(id),
  });
}

export function useDeleteProject() {
  const invalidate = useInvalidateProject();
  // Only the lists: the detail page is still open until the caller leaves it.
  return useMutation({ mutationFn: (id: string) => del(`/projects/${id}`), onSuccess: () => invalidate() });
}

export function useImportProject() {
  const invalidate = useInvalidateProject();
  return useMutation({ mutationFn: (toml: string) => postText<Project>('/projects/import', toml), onSuccess: () => invalidate() });
}

/** The project file (TOML); read on demand, never cached. */
export function useExportProject() {
  return useMutation({ mutationFn: (id: string) => get<string>(`/projects/${id}/export`) });
}

/** The message preview of one table under a spec; writes nothing. */
export function usePreview() {
  return useMutation({
    mutationFn: (req: { spec: ProjectSpec; table: string; limit: number }) => post<{ records: PreviewRecord[] }>('/preview', req),
  });
}
