// The server's field problems of a refused spec (save or precheck in step 4), placed on
// the wizard step whose field they concern, and dropped once the user changes that field.
import type { TFunction, i18n as I18n } from 'i18next';
import type { FieldProblem } from '../api/types';
import { problemMessage } from '../i18n/messages';
import type { Draft } from './draft';

/** The spec field a draft key becomes (its first path part). */
const SPEC_FIELD: Record<keyof Draft, string> = {
  name: 'name',
  tag_ids: 'tag_ids',
  source_id: 'source_id',
  target_id: 'target_id',
  types: 'sync',
  mappings: 'objects',
  format: 'sync',
  partition_rule: 'sync',
  tx_sequence: 'sync',
  debezium: 'sync',
  format_options: 'sync',
  start_time: 'sync',
  kept: 'objects',
};

/** The first part of a field path: `objects[0].topic` → `objects`. */
export function fieldRoot(field: string): string {
  return /^[^.[]*/.exec(field)![0];
}

/** The step (0-based) that shows a spec field, or null for none. */
export function stepOfField(field: string): number | null {
  const root = fieldRoot(field);
  if (['name', 'tag_ids', 'source_id', 'target_id'].includes(root)) return 0;
  if (root === 'objects' || field === 'sync.types') return 1;
  if (root === 'sync') return 2;
  return null;
}

/** The problems left once the draft keys `changed` were edited. */
export function withoutChanged(problems: FieldProblem[], changed: (keyof Draft)[]): FieldProblem[] {
  const roots = new Set(changed.map((k) => SPEC_FIELD[k]));
  return problems.filter((p) => !roots.has(fieldRoot(p.field)));
}

/** The problems of one spec field (exactly, or everything under it with `prefix`). */
export function problemsOf(problems: FieldProblem[], field: string, prefix = false): FieldProblem[] {
  return problems.filter((p) => p.field === field || (prefix && fieldRoot(p.field) === field));
}

/** One problem as a line: its broken rule by code, else the server's message and how to fix it. */
export function problemText(t: TFunction, i18n: I18n, p: FieldProblem): string {
  return problemMessage(t, i18n, p);
}
