// Data sources: the list, the browsing of a source (databases, tables, columns) and of a
// Kafka target (topics), and the changes.
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post, put } from './client';
import type { ColumnInfo, DataSource, DataSourceBody, DatabaseInfo, List, TableInfo, TestResult, TopicInfo } from './types';

type Items<T> = { items: T[] };

const enc = encodeURIComponent;

/** Everything of a data source sits under its id, so a change to it drops what was browsed. */
export const dataSourceKeys = {
  all: ['datasources'] as const,
  list: () => [...dataSourceKeys.all, 'list'] as const,
  one: (id: string) => [...dataSourceKeys.all, 'id', id] as const,
  databases: (id: string) => [...dataSourceKeys.one(id), 'databases'] as const,
  tables: (id: string, database: string) => [...dataSourceKeys.databases(id), database, 'tables'] as const,
  columns: (id: string, database: string, table: string) => [...dataSourceKeys.databases(id), database, 'tables', table, 'columns'] as const,
  topics: (id: string) => [...dataSourceKeys.one(id), 'topics'] as const,
};

export function useDataSources() {
  return useQuery({ queryKey: dataSourceKeys.list(), queryFn: () => get<List<DataSource>>('/datasources') });
}

export function useDatabases(id: string) {
  return useQuery({ queryKey: dataSourceKeys.databases(id), queryFn: () => get<List<DatabaseInfo>>(`/datasources/${id}/databases`) });
}

/** A database's tables, loaded on demand (`queryClient.fetchQuery`) as the tree opens. */
export const tablesQuery = (id: string, database: string) =>
  queryOptions({ queryKey: dataSourceKeys.tables(id, database), queryFn: () => get<Items<TableInfo>>(`/datasources/${id}/databases/${enc(database)}/tables`) });

export function useColumns(id: string, table: { database: string; name: string } | null) {
  return useQuery({
    queryKey: dataSourceKeys.columns(id, table?.database ?? '', table?.name ?? ''),
    queryFn: () => get<Items<ColumnInfo>>(`/datasources/${id}/databases/${enc(table!.database)}/tables/${enc(table!.name)}/columns`),
    enabled: table !== null,
  });
}

export function useTopics(id: string, enabled: boolean) {
  return useQuery({ queryKey: dataSourceKeys.topics(id), queryFn: () => get<Items<TopicInfo>>(`/datasources/${id}/topics`), enabled });
}

/** Creates (`id` null) or updates a data source. */
export function useSaveDataSource() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string | null; body: DataSourceBody }) =>
      id ? put<DataSource>(`/datasources/${id}`, body) : post<DataSource>('/datasources', body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: dataSourceKeys.all }),
  });
}

export function useDeleteDataSource() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => del(`/datasources/${id}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: dataSourceKeys.all }),
  });
}

/** Tests a saved data source (`id`) or an unsaved input (`body`); changes nothing. */
export function useTestDataSource() {
  return useMutation({
    mutationFn: (what: { id: string } | { body: DataSourceBody }) =>
      'id' in what ? post<TestResult>(`/datasources/${what.id}/test`) : post<TestResult>('/datasources/test', what.body),
  });
}
