// The server's lifecycle vocabulary as lists the console can iterate (filters, dictionaries).
// The types come from the OpenAPI document (schema.d.ts); the compiler checks that each list
// names every member, so a state or stage the server adds fails the build until the console
// knows it.
import type { ProjectState, Stage } from './types';

type Missing<T, L extends readonly T[]> = Exclude<T, L[number]>;

/** `list`, which must name every member of `T`. */
function every<T>() {
  return <const L extends readonly T[]>(list: L & ([Missing<T, L>] extends [never] ? unknown : { missing: Missing<T, L> })): L => list;
}

/** Every project state, in the order of a project's life. */
export const STATES = every<ProjectState>()(['not_started', 'prechecking', 'precheck_failed', 'running', 'paused', 'failed', 'finished', 'releasing', 'released']);

/** Every stage, in the order a run goes through them (also the sync types that ask for them). */
export const STAGES = every<Stage>()(['schema', 'full', 'incremental']);
