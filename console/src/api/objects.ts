// Object changes of a running or paused project and re-sync of one table: the requests
// and their shapes (docs/api-contract.md, "Online object changes").
import { post, postIfMatch } from './client';
import type { ObjectMapping, PrecheckItem, Project } from './types';

/** The body of preview and apply: the full new list of objects and the tables to backfill. */
export interface ObjectChange {
  objects: ObjectMapping[];
  /** `db.table` of each added table whose existing rows are sent first. */
  backfill: string[];
}

export interface TableRoute {
  topic: string;
  /** Absent: partitioned by the table's key. */
  shard_columns?: string[] | null;
}

export interface ObjectChangePreview {
  added: { table: string; topic: string; backfill: boolean }[];
  removed: { table: string }[];
  changed: { table: string; from: TableRoute; to: TableRoute }[];
  /** The precheck of the changed part only. */
  precheck: PrecheckItem[];
}

export interface ObjectChangeApplied {
  plan: ObjectChangePreview;
  /** Running: now (a quick restart of the run); paused or failed: at the resume. */
  takes_effect: 'now' | 'at_resume' | 'at_start';
  project: Project;
}

/** A table's backfill (an added table's existing rows, or a re-sync), from `/progress`. */
export interface BackfillProgress {
  table: string;
  state: 'pending' | 'running' | 'done';
  /** Chunks and rows in Kafka. */
  chunks: number;
  rows: number;
  started_at?: string | null;
  finished_at?: string | null;
}

/** What the change would do, with its precheck; nothing is saved. */
export const previewObjects = (projectId: string, change: ObjectChange) => post<ObjectChangePreview>(`/projects/${projectId}/objects/preview`, change);

/** Applies the change to the project's `revision` (409 REVISION_CONFLICT when it moved on). */
export const applyObjects = (projectId: string, change: ObjectChange, revision: number) =>
  postIfMatch<ObjectChangeApplied>(`/projects/${projectId}/objects`, change, revision);

/** Sends the table's rows again to its topic (an incremental snapshot while the log flows). */
export const resyncTable = (projectId: string, table: string) => post<void>(`/projects/${projectId}/tables/${encodeURIComponent(table)}/resync`);
