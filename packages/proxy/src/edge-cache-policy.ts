import type { IncomingHttpHeaders } from 'node:http';

/**
 * What the edge cache may do with a request (RFC 9111 for a shared cache):
 * - `eligible`: look it up, and store a storable answer;
 * - `refresh`: the client sent `Cache-Control: no-cache` (or `Pragma:
 *   no-cache`): forwarded without a lookup, as the client asked; a storable
 *   answer replaces the stored one, so a reload refreshes the edge too;
 * - anything else names why the cache stays out: only GET is stored (HEAD is
 *   answered from a stored GET), never a request with credentials or a range.
 */
export type RequestVerdict = 'eligible' | 'refresh' | 'method' | 'authorization' | 'range';

export function requestVerdict(method: string | undefined, headers: IncomingHttpHeaders): RequestVerdict {
  if (method !== 'GET' && method !== 'HEAD') return 'method';
  if (headers.authorization !== undefined) return 'authorization';
  if (headers.range !== undefined) return 'range';
  const control = headers['cache-control'];
  if ((control !== undefined && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(control)) || headers.pragma === 'no-cache') return 'refresh';
  return 'eligible';
}

/** The directives of a response's Cache-Control that a shared cache acts on. */
export interface ResponseCacheControl {
  public: boolean;
  /** `private`, `no-store` or `no-cache` (with or without field names: treated as a whole). */
  forbidden: 'private' | 'no-store' | 'no-cache' | null;
  /** Seconds: `s-maxage` when present (it wins for a shared cache), else `max-age`; null without either. */
  lifetime: number | null;
  /** `s-maxage` was given: the lifetime is meant for shared caches. */
  shared: boolean;
}

export function parseCacheControl(value: string): ResponseCacheControl {
  const parsed: ResponseCacheControl = { public: false, forbidden: null, lifetime: null, shared: false };
  let maxAge: number | null = null;
  let sMaxAge: number | null = null;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    const argument = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (name === 'public') parsed.public = true;
    else if (name === 'private' || name === 'no-store' || name === 'no-cache') parsed.forbidden ??= name;
    else if (name === 'max-age') maxAge = seconds(argument);
    else if (name === 's-maxage') sMaxAge = seconds(argument);
  }
  parsed.lifetime = sMaxAge ?? maxAge;
  parsed.shared = sMaxAge !== null;
  return parsed;
}

/** A delta-seconds argument (RFC 9111 §1.2.2); an invalid one counts as 0, i.e. stale. */
function seconds(argument: string): number {
  const digits = argument.replace(/^"(.*)"$/, '$1');
  return /^\d+$/.test(digits) ? Math.min(Number(digits), 2_147_483_648) : 0;
}

/** Cache-Control that says the response may be cached by someone: it gets a `Cache-Status` header. */
export function looksCacheable(cacheControl: string | undefined): boolean {
  return cacheControl !== undefined && /public|max-age|s-maxage|immutable/i.test(cacheControl);
}

/** Why a response to an eligible request is not stored; null when it may be. */
export type StoreRefusal =
  | 'status'
  | 'private'
  | 'no-store'
  | 'no-cache'
  | 'no-lifetime'
  | 'set-cookie'
  | 'cookie'
  | 'vary'
  | 'repeated-list'
  | 'too-big';

/**
 * Only 200s are stored: other cacheable statuses (301, 404, 410) are rarer
 * for assets and a wrongly kept 404 hides a fix until it expires, so the
 * edge leaves them to browsers. A lifetime is required: no heuristic
 * freshness (a `public` response without max-age is forwarded each time).
 * A request that carries a Cookie is answered for that user: its response is
 * stored only when it says it is for everyone (`public`, `s-maxage`, or
 * `Vary: Cookie`), since a plain `max-age` often means the browser's cache
 * only (a per-user page or API answer).
 */
export function storeRefusal(
  status: number,
  control: ResponseCacheControl,
  response: { setCookie: boolean; vary: string | undefined; listRepeated: boolean },
  requestHasCookie: boolean,
): StoreRefusal | null {
  const { setCookie, vary } = response;
  if (status !== 200) return 'status';
  if (response.listRepeated) return 'repeated-list';
  if (control.forbidden) return control.forbidden;
  if (control.lifetime === null || control.lifetime <= 0) return 'no-lifetime';
  if (setCookie) return 'set-cookie';
  if (requestHasCookie && !control.public && !control.shared && !varyNames(vary).includes('cookie')) return 'cookie';
  if (vary?.split(',').some((name) => name.trim() === '*')) return 'vary';
  return null;
}

/** The request header names a stored response varies on, lower-case; Accept-Encoding is matched by its negotiated coding instead. */
export function varyNames(vary: string | undefined): string[] {
  if (!vary) return [];
  return vary
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0);
}

/** A request header as one string (repeated headers joined), for comparing Vary values. */
export function requestHeaderValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
