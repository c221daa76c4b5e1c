// Object changes of a running, paused or failed project and re-sync of one table: the
// requests (docs/api-contract.md, "Online object changes"); the shapes are the server's.
import { ApiError, get, post, postIfMatch } from './client';
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

/** Conflicts over a definition still unchanged that one apply rides out. */
const MAX_BOOKKEEPING_CONFLICTS = 3;

/**
 * Applies the change to the definition the user edited. A running project's record also
 * takes the server's own writes (each stage it enters goes into its timeline), and every
 * write moves the revision: a conflict whose project still has that definition is retried
 * at the new revision, and only a changed definition (someone else's edit) is a conflict.
 */
export async function applyToDefinition(project: Project, change: ObjectChange) {
  let revision = project.revision;
  for (let attempt = 0; ; attempt++) {
    try {
      return await applyObjects(project.id, change, revision);
    } catch (e) {
      if (!(e instanceof ApiError && e.body.code === 'REVISION_CONFLICT') || attempt >= MAX_BOOKKEEPING_CONFLICTS) throw e;
      const now = await get<Project>(`/projects/${project.id}`);
      if (JSON.stringify(now.spec) !== JSON.stringify(project.spec)) throw e;
      revision = now.revision;
    }
  }
}

/** Sends the table's rows again to its topic (a backfill while the change log flows). */
export const resyncTable = (projectId: string, table: string) => post<Project>(`/projects/${projectId}/tables/${encodeURIComponent(table)}/resync`);
