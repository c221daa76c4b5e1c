// applyToDefinition against a stubbed fetch: the server's own writes to a running project
// (its stage timeline) move the revision without changing the definition; someone else's
// edit changes the definition.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './client';
import { applyToDefinition } from './objects';
import type { Project } from './types';

const spec = { name: 'p', objects: [{ tables: ['shop.a'], topic: 't' }] };
const project = { id: 'p1', revision: 7, spec } as unknown as Project;
const change = { objects: [{ tables: ['shop.a', 'shop.b'], topic: 't' }], backfill: ['shop.b'] };

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const conflict = () => json(409, { code: 'REVISION_CONFLICT', message: 'changed', advice: null, field: null });

/** Answers the requests in order; records each one's method, path and If-Match. */
function serve(...answers: (() => Response)[]) {
  const seen: string[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    seen.push(`${init.method} ${url}${headers['If-Match'] ? ` If-Match ${headers['If-Match']}` : ''}`);
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${init.method} ${url}`);
    return next();
  });
  return seen;
}

afterEach(() => vi.unstubAllGlobals());

describe('applying an object change', () => {
  it('sends the revision the page was opened with', async () => {
    const seen = serve(() => json(200, { project }));
    await applyToDefinition(project, change);
    expect(seen).toEqual(['POST /api/v1/projects/p1/objects If-Match "7"']);
  });

  it('retries at the new revision when only the server moved the revision on', async () => {
    const seen = serve(conflict, () => json(200, { ...project, revision: 9 }), () => json(200, { project }));
    await applyToDefinition(project, change);
    expect(seen).toEqual(['POST /api/v1/projects/p1/objects If-Match "7"', 'GET /api/v1/projects/p1', 'POST /api/v1/projects/p1/objects If-Match "9"']);
  });

  it('is a conflict when someone else changed the definition', async () => {
    const edited = { ...project, revision: 8, spec: { ...spec, objects: [{ tables: ['shop.a'], topic: 'other' }] } };
    serve(conflict, () => json(200, edited));
    await expect(applyToDefinition(project, change)).rejects.toSatisfy((e) => e instanceof ApiError && e.body.code === 'REVISION_CONFLICT');
  });

  it('gives up after a few conflicts in a row, and passes other errors on at once', async () => {
    const same = () => json(200, project);
    serve(conflict, same, conflict, same, conflict, same, conflict, same);
    await expect(applyToDefinition(project, change)).rejects.toBeInstanceOf(ApiError);
    const seen = serve(() => json(422, { code: 'OBJECTS_PRECHECK_FAILED', message: 'no', advice: null, field: null }));
    await expect(applyToDefinition(project, change)).rejects.toSatisfy((e) => e instanceof ApiError && e.status === 422);
    expect(seen).toHaveLength(1);
  });
});
