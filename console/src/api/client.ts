import type { ApiErrorBody } from './types';

/** A failed API call: the server's error body (code, message, advice) and the HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

const BASE = '/api/v1';

async function errorBody(res: Response): Promise<ApiErrorBody> {
  const text = await res.text();
  try {
    const parsed = JSON.parse(text) as Partial<ApiErrorBody>;
    if (parsed && typeof parsed.code === 'string') {
      return { code: parsed.code, params: parsed.params ?? {}, message: parsed.message ?? '', advice: parsed.advice ?? null, field: parsed.field ?? null, details: parsed.details ?? [] };
    }
  } catch {
    // not JSON: a proxy or a crash page; fall through to a generic code
  }
  return { code: `HTTP_${res.status}`, message: text.slice(0, 300) || res.statusText, advice: null, field: null };
}

/**
 * Calls the API; JSON in and out (a `text` body is sent as text/plain), the session cookie
 * sent; a non-2xx answer throws ApiError.
 */
export async function api<T>(method: string, path: string, body?: unknown, text?: string, extraHeaders?: Record<string, string>): Promise<T> {
  let res: Response;
  const headers: Record<string, string> = { Accept: 'application/json', ...extraHeaders };
  if (text !== undefined) headers['Content-Type'] = 'text/plain; charset=utf-8';
  else if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    res = await fetch(BASE + path, {
      method,
      credentials: 'same-origin',
      headers,
      body: text ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch (e) {
    throw new ApiError(0, { code: 'NETWORK', message: String(e), advice: null, field: null });
  }
  if (res.status === 401 && path !== '/session' && path !== '/me') {
    window.dispatchEvent(new Event('obsync:unauthenticated'));
  }
  if (!res.ok) throw new ApiError(res.status, await errorBody(res));
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('application/json')) return (await res.json()) as T;
  return (await res.text()) as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T = void>(path: string) => api<T>('DELETE', path);
/** A POST that applies only to the record's `revision` (else 409 REVISION_CONFLICT). */
export const postIfMatch = <T>(path: string, body: unknown, revision: number) => api<T>('POST', path, body, undefined, { 'If-Match': `"${revision}"` });
export const postText = <T>(path: string, text: string) => api<T>('POST', path, undefined, text);

/** Query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
}
