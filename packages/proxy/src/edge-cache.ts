import type { IncomingHttpHeaders } from 'node:http';
import type { Route, RouteUpstream } from '@pier/core';
import { acceptsCoding } from './compression.ts';
import { requestHeaderValue } from './edge-cache-policy.ts';

export interface EdgeCacheOptions {
  /** Bytes one app's stored responses may take (all its environments together); the least recently used go first. */
  maxBytesPerApp: number;
  /** Bytes all apps' stored responses may take together. */
  maxBytesTotal: number;
  /** A response bigger than this (body and headers) is never stored. */
  maxEntryBytes: number;
  /** Milliseconds clock, for tests. */
  now?: () => number;
}

/** One stored response, as the client got it (the coding the edge chose, or the upstream's). */
export interface CachedResponse {
  status: number;
  /** Flat `[name, value, …]`, without X-Request-Id, Age and Content-Length (set when served). */
  headers: readonly string[];
  body: Buffer;
  protocol: 'http' | 'https';
  /** The coding the edge negotiated for the request that stored it ('identity' when none). */
  coding: string;
  /** The body's Content-Encoding ('identity' when none). */
  contentEncoding: string;
  /** The response's Vary names (lower-case) and the storing request's values of them. */
  vary: readonly string[];
  varyValues: readonly (string | undefined)[];
  /** When it was stored (ms), the Age the upstream gave it (s) and its freshness lifetime (s). */
  storedAt: number;
  initialAge: number;
  lifetime: number;
  /** The replica that answered: a hit counts for its release, like a forwarded request. */
  upstream: RouteUpstream;
}

interface Entry extends CachedResponse {
  bytes: number;
  env: CachedEnvironment;
  host: string;
  url: string;
}

/** One environment's stored responses: Host → path with query → variants. */
export class CachedEnvironment {
  /** Bumped by each clear: a response that started before it is not stored after it. */
  generation = 0;
  /** The release ids of the route's upstreams when last seen; a change clears the environment. */
  releases: string | null;
  /** Set once the route is gone: an in-flight response of it stores nothing. */
  removed = false;
  size = 0;
  readonly byHost = new Map<string, Map<string, Entry[]>>();

  constructor(
    readonly key: string,
    readonly app: string,
    releases: string | null,
  ) {
    this.releases = releases;
  }
}

interface AppBudget {
  bytes: number;
  /** Entries from least to most recently used (a Set keeps insertion order; a hit re-inserts). */
  lru: Set<Entry>;
}

/** Per-entry bookkeeping beyond body and headers (maps, arrays, the entry object). */
const ENTRY_OVERHEAD = 512;

/**
 * The edge's in-memory store of complete responses, bounded in bytes per app
 * and in total (least recently used evicted first). It stores and finds;
 * what may be stored is `edge-cache-policy.ts`'s call. A deploy clears an
 * environment: `sync` compares each route's set of release ids with the one
 * seen before, so the new release's assets are fetched anew and the old
 * release's are never served after the switch.
 */
export class EdgeCache {
  readonly #options: EdgeCacheOptions;
  readonly #now: () => number;
  readonly #environments = new Map<string, CachedEnvironment>();
  readonly #apps = new Map<string, AppBudget>();
  readonly #lru = new Set<Entry>();
  #bytes = 0;

  constructor(options: EdgeCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The largest entry it would keep: the entry limit, or the app's whole share when that is smaller. */
  get maxEntryBytes(): number {
    return Math.min(this.#options.maxEntryBytes, this.#options.maxBytesPerApp);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get entries(): number {
    return this.#lru.size;
  }

  now(): number {
    return this.#now();
  }

  bytesOf(app: string): number {
    return this.#apps.get(app)?.bytes ?? 0;
  }

  /** The environment a route serves, created on first use. */
  environment(route: Route): CachedEnvironment {
    const key = `${route.app}/${route.env}`;
    let env = this.#environments.get(key);
    if (!env) {
      env = new CachedEnvironment(key, route.app, releaseSet(route));
      this.#environments.set(key, env);
    }
    return env;
  }

  /**
   * Follows a new route table: clears environments whose release set
   * changed (a route without upstreams, mid-swap, changes nothing) and drops
   * those no longer routed.
   */
  sync(routes: readonly Route[]): void {
    const routed = new Set<string>();
    for (const route of routes) {
      const key = `${route.app}/${route.env}`;
      routed.add(key);
      const env = this.#environments.get(key);
      const releases = releaseSet(route);
      if (!env || releases === null || releases === env.releases) continue;
      if (env.releases !== null) this.#clear(env);
      env.releases = releases;
    }
    for (const [key, env] of this.#environments) {
      if (routed.has(key)) continue;
      this.#clear(env);
      env.removed = true;
      this.#environments.delete(key);
    }
  }

  /** Whether anything is stored under Host and URL, fresh or not (Cache-Status tells a URI miss from a Vary miss). */
  knows(env: CachedEnvironment, host: string, url: string): boolean {
    return env.byHost.get(host)?.get(url) !== undefined;
  }

  /** A fresh stored response that matches the request, now the most recently used; stale ones met are dropped. */
  find(
    env: CachedEnvironment,
    host: string,
    url: string,
    protocol: string,
    headers: IncomingHttpHeaders,
    coding: string,
  ): CachedResponse | undefined {
    const variants = env.byHost.get(host)?.get(url);
    if (!variants) return undefined;
    const now = this.#now();
    for (const entry of variants) {
      if (!isFresh(entry, now)) {
        this.#remove(entry);
        return this.find(env, host, url, protocol, headers, coding);
      }
      if (entry.protocol !== protocol || !matchesVary(entry, headers, coding)) continue;
      this.#touch(entry);
      return entry;
    }
    return undefined;
  }

  /** Stores a response unless its environment was cleared or removed since `generation`, or it is too big. */
  store(env: CachedEnvironment, generation: number, host: string, url: string, response: CachedResponse): boolean {
    if (env.removed || env.generation !== generation) return false;
    const bytes = sizeOf(response, host, url);
    if (bytes > this.#options.maxEntryBytes || bytes > this.#options.maxBytesPerApp) return false;
    // Replaced first: removing a host's last entry drops its map, so the map is looked up after.
    for (const old of [...(env.byHost.get(host)?.get(url) ?? [])]) if (sameVariant(old, response)) this.#remove(old);
    let urls = env.byHost.get(host);
    if (!urls) {
      urls = new Map();
      env.byHost.set(host, urls);
    }
    const entry: Entry = { ...response, bytes, env, host, url };
    const variants = urls.get(url);
    if (variants) variants.push(entry);
    else urls.set(url, [entry]);
    env.size++;
    const budget = this.#budget(env.app);
    budget.bytes += bytes;
    budget.lru.add(entry);
    this.#lru.add(entry);
    this.#bytes += bytes;
    this.#evict(budget);
    return true;
  }

  #evict(budget: AppBudget): void {
    while (budget.bytes > this.#options.maxBytesPerApp && budget.lru.size > 0) this.#remove(first(budget.lru));
    while (this.#bytes > this.#options.maxBytesTotal && this.#lru.size > 0) this.#remove(first(this.#lru));
  }

  #touch(entry: Entry): void {
    const lru = this.#apps.get(entry.env.app)?.lru;
    lru?.delete(entry);
    lru?.add(entry);
    this.#lru.delete(entry);
    this.#lru.add(entry);
  }

  /** Forgets a stored entry everywhere it is counted (a no-op for one not stored), so eviction always progresses. */
  #remove(entry: Entry): void {
    if (!this.#lru.delete(entry)) return;
    this.#bytes -= entry.bytes;
    const { env } = entry;
    env.size--;
    const budget = this.#apps.get(env.app);
    if (budget) {
      budget.bytes -= entry.bytes;
      budget.lru.delete(entry);
      if (budget.lru.size === 0) this.#apps.delete(env.app);
    }
    const urls = env.byHost.get(entry.host);
    const variants = urls?.get(entry.url);
    const at = variants?.indexOf(entry) ?? -1;
    if (!urls || !variants || at === -1) return;
    variants.splice(at, 1);
    if (variants.length === 0) urls.delete(entry.url);
    if (urls.size === 0) env.byHost.delete(entry.host);
  }

  #clear(env: CachedEnvironment): void {
    env.generation++;
    for (const urls of [...env.byHost.values()])
      for (const variants of [...urls.values()]) for (const entry of [...variants]) this.#remove(entry);
  }

  #budget(app: string): AppBudget {
    let budget = this.#apps.get(app);
    if (!budget) {
      budget = { bytes: 0, lru: new Set() };
      this.#apps.set(app, budget);
    }
    return budget;
  }
}

/** Seconds since the response left the origin (RFC 9111 §4.2.3, with the upstream's Age as its initial age). */
export function currentAge(response: CachedResponse, now: number): number {
  return response.initialAge + Math.max(0, Math.floor((now - response.storedAt) / 1000));
}

function isFresh(response: CachedResponse, now: number): boolean {
  return response.initialAge * 1000 + (now - response.storedAt) < response.lifetime * 1000;
}

function matchesVary(entry: CachedResponse, headers: IncomingHttpHeaders, coding: string): boolean {
  // Even without Vary: Accept-Encoding (an upstream that forgot it), an encoded body goes only to clients that accept it.
  if (entry.contentEncoding !== 'identity' && !acceptsCoding(headers['accept-encoding'], entry.contentEncoding)) return false;
  for (let i = 0; i < entry.vary.length; i++) {
    const name = entry.vary[i] as string;
    if (name === 'accept-encoding') {
      if (entry.coding !== coding) return false;
    } else if (requestHeaderValue(headers, name) !== entry.varyValues[i]) return false;
  }
  return true;
}

function sameVariant(a: CachedResponse, b: CachedResponse): boolean {
  return (
    a.protocol === b.protocol &&
    a.coding === b.coding &&
    a.vary.join() === b.vary.join() &&
    a.varyValues.every((value, i) => value === b.varyValues[i])
  );
}

function sizeOf(response: CachedResponse, host: string, url: string): number {
  let bytes = response.body.length + host.length + url.length + ENTRY_OVERHEAD;
  for (const part of response.headers) bytes += part.length;
  return bytes;
}

/** The release ids a route's upstreams run, sorted; null for a route without upstreams (mid-swap: no change). */
function releaseSet(route: Route): string | null {
  if (route.upstreams.length === 0) return null;
  return [...new Set(route.upstreams.map((upstream) => upstream.releaseId ?? ''))].sort().join(',');
}

function first(entries: Set<Entry>): Entry {
  return entries.values().next().value as Entry;
}
