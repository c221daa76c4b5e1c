// Object changes of a running, paused or failed project and re-sync of one table: the
// requests (docs/api-contract.md, "Online object changes"); the shapes are the server's.
import { post, postIfMatch } from './client';
import type { components } from './schema';
import type { ObjectMapping, PrecheckItem, Project } from './types';

type Schemas = components['schemas'];

/** The body of preview and apply: the full new list of objects and the added tables to backfill. */
export type ObjectChange = Omit<Schemas['ObjectsChange'], 'objects' | 'backfill'> & { objects: ObjectMapping[]; backfill: string[] };

export type TableRoute = Schemas['TableRouteView'];
export type ObjectChangePreview = Omit<Schemas['ObjectsPlanView'], 'precheck'> & { precheck: PrecheckItem[] };
export type ObjectChangeApplied = Schemas['ObjectsApplied'];
/** A table's backfill (an added table's existing rows, or a re-sync), from `/progress`. */
export type BackfillProgress = Schemas['BackfillView'];

/** What the change would do, with the precheck of the changed part; nothing is saved. */
export const previewObjects = (projectId: string, change: ObjectChange) => post<ObjectChangePreview>(`/projects/${projectId}/objects/preview`, change);

/** Applies the change to the project's `revision` (409 REVISION_CONFLICT when it moved on). */
export const applyObjects = (projectId: string, change: ObjectChange, revision: number) =>
  postIfMatch<ObjectChangeApplied>(`/projects/${projectId}/objects`, change, revision);

/** Sends the table's rows again to its topic (a backfill while the change log flows). */
export const resyncTable = (projectId: string, table: string) => post<Project>(`/projects/${projectId}/tables/${encodeURIComponent(table)}/resync`);
