// What an error says, and where: the server's error body from anything a call throws, and
// its per-field problems (`field`, `details`) as antd name paths, so forms show them at
// their fields instead of in one alert below the form.
import { ApiError } from './client';
import type { ApiErrorBody, FieldProblem } from './types';

/** The error body of `error`: the server's answer, or one made for anything else thrown. */
export function errorBody(error: unknown): ApiErrorBody {
  if (error instanceof ApiError) return error.body;
  if (typeof error === 'object' && error !== null && 'code' in error && typeof (error as ApiErrorBody).code === 'string') return error as ApiErrorBody;
  return { code: 'UNKNOWN', message: error instanceof Error ? error.message : String(error) };
}

/** A form field's name path, as antd's Form takes it. */
export type NamePath = (string | number)[];

/** The server's field path (`objects[0].topic`, `source.host`) as a name path (`['objects', 0, 'topic']`). */
export function fieldPath(field: string): NamePath {
  const path: NamePath = [];
  for (const part of field.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return [field];
    if (m[1]) path.push(m[1]);
    for (const index of m[2].matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return path;
}

/**
 * Every field problem of an error: its `details`, and its own `field` with its message and
 * advice unless a detail already names that field (a refused spec lists every problem in
 * `details` and repeats the first as `field`).
 */
export function fieldProblems(error: unknown): FieldProblem[] {
  const body = errorBody(error);
  const details = body.details ?? [];
  const problems: FieldProblem[] = [];
  if (body.field && !details.some((d) => d.field === body.field)) problems.push({ field: body.field, message: body.message, advice: body.advice ?? '' });
  return [...problems, ...details];
}

/** A form's field for a server field path, or null when the form has no such field. */
export type FieldMap = (serverField: NamePath) => NamePath | null;

/** The same path: the form's fields are named as the request's. */
export const sameFields: FieldMap = (path) => path;

export interface FieldErrors {
  /** The problems per form field, as antd's `form.setFields` takes them. */
  fields: { name: NamePath; errors: string[] }[];
  /** Whether every problem found a field (then no alert is needed). */
  complete: boolean;
}

/**
 * The error's field problems placed on the form's fields by `map`; `text` words one problem.
 * An error without any field problem is not complete: it belongs in an alert.
 */
export function placeFieldErrors(error: unknown, map: FieldMap, text: (p: FieldProblem) => string): FieldErrors {
  const problems = fieldProblems(error);
  const byField = new Map<string, { name: NamePath; errors: string[] }>();
  let placed = 0;
  for (const p of problems) {
    const name = map(fieldPath(p.field));
    if (!name) continue;
    placed += 1;
    const key = JSON.stringify(name);
    const entry = byField.get(key) ?? { name, errors: [] };
    entry.errors.push(text(p));
    byField.set(key, entry);
  }
  return { fields: [...byField.values()], complete: problems.length > 0 && placed === problems.length };
}
