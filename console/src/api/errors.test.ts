import { afterEach, describe, expect, it, vi } from 'vitest';
import { dataSourceField } from '../pages/DataSourceDialog';
import { ApiError, post } from './client';
import { errorBody, fieldPath, fieldProblems, placeFieldErrors, sameFields } from './errors';

const text = (p: { message: string }) => p.message;

describe('server errors', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('keep the field and the details of the answer', async () => {
    const answer = {
      code: 'INVALID_PROJECT',
      message: 'the project definition is invalid',
      advice: 'use 3-64 of A-Z a-z 0-9 - _ .',
      field: 'objects[0].topic',
      details: [
        { field: 'objects[0].topic', message: 'topic "a b" is invalid', advice: 'use 3-64 of A-Z a-z 0-9 - _ .' },
        { field: 'name', message: 'project name is empty', advice: 'use 1-64 Chinese characters, ASCII letters and digits' },
      ],
    };
    vi.stubGlobal('fetch', async () => new Response(JSON.stringify(answer), { status: 422, headers: { 'content-type': 'application/json' } }));
    const error = await post('/projects', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    // The first detail repeats `field`: it is listed once.
    expect(fieldProblems(error).map((p) => p.field)).toEqual(['objects[0].topic', 'name']);
  });

  it('are made for what is not an answer of the server', () => {
    expect(errorBody(new Error('boom'))).toEqual({ code: 'UNKNOWN', message: 'boom' });
    expect(errorBody('text').code).toBe('UNKNOWN');
    expect(fieldProblems(new Error('boom'))).toEqual([]);
  });

  it('name their fields as form name paths', () => {
    expect(fieldPath('name')).toEqual(['name']);
    expect(fieldPath('objects[0].topic')).toEqual(['objects', 0, 'topic']);
    expect(fieldPath('objects[12].shard_columns[3]')).toEqual(['objects', 12, 'shard_columns', 3]);
    expect(fieldPath('source.tls.ca_pem')).toEqual(['source', 'tls', 'ca_pem']);
  });

  it('land on the fields of the form, and only the rest in the alert', () => {
    const duplicate = new ApiError(409, { code: 'NAME_TAKEN', message: 'data source "m" exists', advice: 'choose another name', field: 'name' });
    expect(placeFieldErrors(duplicate, dataSourceField, text)).toEqual({ fields: [{ name: ['name'], errors: ['data source "m" exists'] }], complete: true });

    const nested = new ApiError(400, {
      code: 'INVALID_DATASOURCE',
      message: 'x',
      field: 'kafka.sasl.username',
      details: [
        { field: 'source.tls.ca_pem', message: 'not a PEM', advice: '' },
        { field: 'kafka.version', message: 'unknown version', advice: '' },
        { field: 'kafka.sasl.kerberos_principal', message: 'missing', advice: '' },
        { field: 'somewhere.else', message: 'elsewhere', advice: '' },
      ],
    });
    const placed = placeFieldErrors(nested, dataSourceField, text);
    expect(placed.fields.map((f) => f.name)).toEqual([['sasl_username'], ['source_tls_ca_pem'], ['version'], ['kerberos_principal']]);
    expect(placed.complete).toBe(false);

    const none = new ApiError(500, { code: 'INTERNAL', message: 'failed' });
    expect(placeFieldErrors(none, sameFields, text)).toEqual({ fields: [], complete: false });
  });
});
