/**
 * The dashboard's one way to the REST API: same-origin requests with the
 * session cookie, the CSRF token on every change, and the API's errors as
 * `ApiError`s that name the field they are about.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The field the API's message names (`body.name: …` → `name`, `key: …` → `key`), if any. */
  get field(): string | undefined {
    const match = /^([A-Za-z_][\w.[\]-]*):/.exec(this.message);
    const path = match?.[1];
    if (!path) return undefined;
    const last = path
      .replace(/\[\d+\]/g, '')
      .split('.')
      .pop();
    return last === 'body' || last === 'query' || last === 'path' ? undefined : last;
  }
}

let csrfToken = '';
const signedOutListeners = new Set<() => void>();

/** Set at sign-in and on load (`GET /session`): every change sends it back. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

let refreshCsrf: (() => Promise<boolean>) | null = null;

/**
 * How a change refused for its CSRF token (`x-csrf-token: …`, another tab signed in again and replaced
 * the cookie) gets the current session's token: set by session.ts; true when there is one to retry with.
 */
export function onCsrfRefused(refresh: () => Promise<boolean>): void {
  refreshCsrf = refresh;
}

/** Heard when any request answers 401: the session ended (signed out elsewhere, expired, token revoked). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await request<T>(method, path, body);
  } catch (err) {
    const stale = err instanceof ApiError && err.status === 403 && err.message.startsWith('x-csrf-token:');
    if (!stale || method === 'GET' || !refreshCsrf || !(await refreshCsrf())) throw err;
    // Once only: a second refusal is the answer.
    return request<T>(method, path, body);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'network', 'Pier did not answer: check the connection and try again');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const failure = new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `${res.status} ${res.statusText}`);
    if (res.status === 401 && path !== '/session') for (const listener of signedOutListeners) listener();
    throw failure;
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

/** A path with each interpolated value percent-encoded: path`/apps/${name}`. */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}

/** `?a=1&b=2` of the defined values, or ''. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
}
