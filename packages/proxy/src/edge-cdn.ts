import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Route, RouteUpstream } from '@pier/core';
import { CdnBody } from './cdn-body.ts';
import { listsToken, markEncoded, ResponseHeaderScan, valueAt } from './cdn-headers.ts';
import {
  createEncoder,
  DEFAULT_MIN_COMPRESS_BYTES,
  hasCompressibleBody,
  isCompressibleType,
  negotiateEncoding,
} from './compression.ts';
import { type CachedEnvironment, currentAge, type EdgeCache } from './edge-cache.ts';
import {
  looksCacheable,
  parseCacheControl,
  requestHeaderValue,
  requestVerdict,
  storeRefusal,
  varyNames,
} from './edge-cache-policy.ts';
import { CacheRecorder } from './edge-cache-recorder.ts';
import { requestHost } from './hostnames.ts';
import type { RouteTable } from './route-table.ts';

export interface EdgeCdnOptions {
  /** Compress text-like responses for clients that accept br or gzip. */
  compression: boolean;
  /** Smallest known body length worth compressing (default 1 KiB). */
  minCompressBytes?: number;
  /** Where responses are stored; without one nothing is cached. */
  cache?: EdgeCache | null;
}

/** Response headers the cache never keeps: set anew on every answer. */
const PER_ANSWER = new Set(['x-request-id', 'age', 'content-length', 'cache-status']);

/**
 * The edge's CDN role: compression of text-like responses and an in-memory
 * cache of responses that say they may be cached. The edge asks `forRoute`
 * for a route's part; the data path calls its `begin` with each response's
 * headers. A response that is neither compressible nor cacheable costs a
 * scan of its header names and two checks.
 */
export class EdgeCdn {
  readonly compression: boolean;
  readonly minCompressBytes: number;
  readonly cache: EdgeCache | null;
  /** Reused by every `begin` (synchronous), see `ResponseHeaderScan`. */
  readonly scan = new ResponseHeaderScan();
  /** Per route object, so a request costs a WeakMap lookup, not a key string. */
  readonly #routes = new WeakMap<Route, RouteCdn>();
  readonly #uncached: RouteCdn;

  constructor(options: EdgeCdnOptions) {
    this.compression = options.compression;
    this.minCompressBytes = options.minCompressBytes ?? DEFAULT_MIN_COMPRESS_BYTES;
    this.cache = options.cache ?? null;
    this.#uncached = new RouteCdn(this, null);
  }

  /** Keeps the cache in step with `table`: a route whose release set changes is cleared (`EdgeCache.sync`). */
  follow(table: RouteTable): void {
    const cache = this.cache;
    if (!cache) return;
    cache.sync(table.routes);
    table.onReplace(() => cache.sync(table.routes));
  }

  forRoute(route: Route): RouteCdn {
    if (!this.cache) return this.#uncached;
    let found = this.#routes.get(route);
    if (!found) {
      found = new RouteCdn(this, this.cache.environment(route));
      this.#routes.set(route, found);
    }
    return found;
  }

  /** The coding a request's responses are stored under: what the edge would choose for it. */
  codingFor(req: IncomingMessage): string {
    return (this.compression && negotiateEncoding(req.headers['accept-encoding'])) || 'identity';
  }
}

/** One route's part of the CDN role: its cached environment (null without a cache). */
export class RouteCdn {
  constructor(
    private readonly cdn: EdgeCdn,
    private readonly env: CachedEnvironment | null,
  ) {}

  /**
   * Answers `req` from the cache when a fresh stored response matches it,
   * with `Age` and `Cache-Status: pier; hit`; returns the replica that
   * answered it first (the request counts for its release), or undefined:
   * forward it.
   */
  answer(req: IncomingMessage, res: ServerResponse, requestId: string): RouteUpstream | undefined {
    const { env, cdn } = this;
    if (env === null || env.size === 0 || cdn.cache === null) return undefined;
    if (requestVerdict(req.method, req.headers) !== 'eligible') return undefined;
    const hit = cdn.cache.find(env, hostOf(req), req.url ?? '/', protocolOf(req), req.headers, cdn.codingFor(req));
    if (!hit) return undefined;
    const age = currentAge(hit, cdn.cache.now());
    res.writeHead(hit.status, [
      ...hit.headers,
      'content-length',
      String(hit.body.length),
      'age',
      String(age),
      'cache-status',
      `pier; hit; ttl=${hit.lifetime - age}`,
      'x-request-id',
      requestId,
    ]);
    res.end(req.method === 'HEAD' ? undefined : hit.body);
    return hit.upstream;
  }

  /**
   * Called with a response's status and client headers before they are
   * written: edits `headers` (Content-Encoding, Vary, ETag, Cache-Status)
   * and returns the body path, or null when the body goes out untouched.
   */
  begin(res: ServerResponse, status: number, headers: string[], resume: () => void, upstream: RouteUpstream): CdnBody | null {
    const req = res.req;
    const scan = this.cdn.scan.scan(headers);
    const cacheControl = valueAt(headers, scan.cacheControl);
    const compressible = this.cdn.compression && this.#compressible(req, status, headers, cacheControl);
    const cacheable = this.env !== null && cacheControl !== undefined && looksCacheable(cacheControl);
    if (!compressible && !cacheable) return null;
    const length = scan.contentLength < 0 ? -1 : Number(headers[scan.contentLength]);
    const coding = compressible ? negotiateEncoding(req.headers['accept-encoding']) : null;
    if (compressible) markEncoded(headers, scan, coding);
    const recorder = cacheable ? this.#recorder(req, status, headers, coding === null ? length : -1, upstream) : null;
    if (coding === null && recorder === null) return null;
    const encoder = coding === null ? null : createEncoder(coding, length);
    return new CdnBody(res, resume, encoder, recorder, length < 0 ? coding : null);
  }

  #compressible(req: IncomingMessage, status: number, headers: readonly string[], cacheControl: string | undefined): boolean {
    const { scan, minCompressBytes } = this.cdn;
    if (req.method === 'HEAD' || !hasCompressibleBody(status)) return false;
    if (scan.contentLength >= 0 && Number(headers[scan.contentLength]) < minCompressBytes) return false;
    const type = valueAt(headers, scan.contentType);
    if (type === undefined || !isCompressibleType(type)) return false;
    const encoding = valueAt(headers, scan.contentEncoding);
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
    return cacheControl === undefined || !listsToken(cacheControl, 'no-transform');
  }

  /**
   * Decides whether the response is stored, says so in `Cache-Status`
   * (RFC 9211) and returns the recorder that copies its body, or null.
   * `length` is the body's known length as sent, -1 when unknown.
   */
  #recorder(
    req: IncomingMessage,
    status: number,
    headers: string[],
    length: number,
    upstream: RouteUpstream,
  ): CacheRecorder | null {
    const cache = this.cdn.cache as EdgeCache;
    const env = this.env as CachedEnvironment;
    const scan = this.cdn.scan.scan(headers);
    const control = parseCacheControl(headers[scan.cacheControl] as string);
    const vary = valueAt(headers, scan.vary);
    const verdict = requestVerdict(req.method, req.headers);
    const host = hostOf(req);
    const url = req.url ?? '/';
    if (verdict !== 'eligible' && verdict !== 'refresh') {
      headers.push('cache-status', `pier; fwd=bypass; detail=${verdict}`);
      return null;
    }
    const fwd = verdict === 'refresh' ? 'request' : cache.knows(env, host, url) ? 'vary-miss' : 'uri-miss';
    const refusal =
      req.method !== 'GET'
        ? 'method'
        : (storeRefusal(
            status,
            control,
            { setCookie: scan.setCookie, vary, listRepeated: scan.listRepeated },
            req.headers.cookie !== undefined,
          ) ?? (length > cache.maxEntryBytes ? 'too-big' : null));
    const initialAge = Number(valueAt(headers, scan.age) ?? 0) || 0;
    const lifetime = control.lifetime ?? 0;
    if (refusal !== null || initialAge >= lifetime) {
      headers.push('cache-status', `pier; fwd=${fwd}; detail=${refusal ?? 'stale'}`);
      return null;
    }
    const names = varyNames(vary);
    const stored = withoutPerAnswer(headers);
    headers.push('cache-status', `pier; fwd=${fwd}; stored; ttl=${lifetime - initialAge}`);
    return new CacheRecorder(cache, env, host, url, {
      status,
      headers: stored,
      protocol: protocolOf(req),
      coding: this.cdn.codingFor(req),
      contentEncoding: valueAt(headers, scan.contentEncoding)?.trim().toLowerCase() ?? 'identity',
      vary: names,
      varyValues: names.map((name) => requestHeaderValue(req.headers, name)),
      storedAt: cache.now(),
      initialAge,
      lifetime,
      upstream,
    });
  }
}

/** A flat header list without the headers set anew on every answer. */
function withoutPerAnswer(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (!PER_ANSWER.has((flat[i] as string).toLowerCase())) out.push(flat[i] as string, flat[i + 1] as string);
  }
  return out;
}

/** The Host (or HTTP/2 `:authority`) as sent: hosts that differ only in case or port are stored apart, which is merely wasteful. */
function hostOf(req: IncomingMessage): string {
  return requestHost(req.headers) ?? '';
}

function protocolOf(req: IncomingMessage): 'http' | 'https' {
  return (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
}
