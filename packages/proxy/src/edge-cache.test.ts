import type { Route, RouteUpstream } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { type CachedResponse, currentAge, EdgeCache } from './edge-cache.ts';
import { parseCacheControl, requestVerdict, storeRefusal } from './edge-cache-policy.ts';

const upstream: RouteUpstream = { id: 'u1', host: '127.0.0.1', port: 1, releaseId: 'r1' };

function routeOf(app: string, releases: string[], env = 'production'): Route {
  return {
    app,
    env,
    hostnames: [`${app}.pier.test`],
    upstreams: releases.map((releaseId, i) => ({ id: `${app}-${i}`, host: '127.0.0.1', port: 1000 + i, releaseId })),
  };
}

function response(bodyBytes: number, overrides: Partial<CachedResponse> = {}): CachedResponse {
  return {
    status: 200,
    headers: ['content-type', 'text/css'],
    body: Buffer.alloc(bodyBytes, 1),
    protocol: 'https',
    coding: 'identity',
    contentEncoding: 'identity',
    vary: [],
    varyValues: [],
    storedAt: 0,
    initialAge: 0,
    lifetime: 60,
    upstream,
    ...overrides,
  };
}

describe('edge cache policy', () => {
  it('reads the lifetime a shared cache uses: s-maxage wins over max-age', () => {
    expect(parseCacheControl('public, max-age=60')).toEqual({ public: true, forbidden: null, lifetime: 60, shared: false });
    expect(parseCacheControl('max-age=60, s-maxage=5')).toMatchObject({ lifetime: 5, shared: true });
    expect(parseCacheControl('max-age="30", immutable').lifetime).toBe(30);
    expect(parseCacheControl('public').lifetime).toBeNull();
    expect(parseCacheControl('max-age=abc').lifetime).toBe(0);
    expect(parseCacheControl('private, max-age=60').forbidden).toBe('private');
    expect(parseCacheControl('no-cache="set-cookie", max-age=60').forbidden).toBe('no-cache');
    expect(parseCacheControl('public, NO-STORE').forbidden).toBe('no-store');
  });

  it.each([
    [200, 'public, max-age=60', false, undefined, null],
    [200, 'max-age=31536000, immutable', false, 'Accept-Encoding', null],
    [404, 'public, max-age=60', false, undefined, 'status'],
    [200, 'private, max-age=60', false, undefined, 'private'],
    [200, 'no-store', false, undefined, 'no-store'],
    [200, 'no-cache, max-age=60', false, undefined, 'no-cache'],
    [200, 'public', false, undefined, 'no-lifetime'],
    [200, 'public, max-age=0', false, undefined, 'no-lifetime'],
    [200, 'public, max-age=60', true, undefined, 'set-cookie'],
    [200, 'public, max-age=60', false, 'Origin, *', 'vary'],
  ])('status %i, %s, set-cookie %s, vary %s: %s', (status, control, setCookie, vary, expected) => {
    expect(storeRefusal(status, parseCacheControl(control), { setCookie, vary, listRepeated: false }, false)).toBe(expected);
  });

  it.each([
    ['max-age=60', undefined, 'cookie'],
    ['max-age=60, immutable', undefined, 'cookie'],
    ['public, max-age=60', undefined, null],
    ['s-maxage=60', undefined, null],
    ['max-age=60', 'Accept-Encoding, Cookie', null],
  ])(
    'a request with a Cookie: %s, vary %s: %s (stored only when the answer says it is for everyone)',
    (control, vary, expected) => {
      expect(storeRefusal(200, parseCacheControl(control), { setCookie: false, vary, listRepeated: false }, true)).toBe(expected);
      expect(storeRefusal(200, parseCacheControl(control), { setCookie: false, vary, listRepeated: false }, false)).toBeNull();
    },
  );

  it('stores nothing when Cache-Control or Vary came on several lines (one of them may say private or Cookie)', () => {
    expect(
      storeRefusal(
        200,
        parseCacheControl('public, max-age=60'),
        { setCookie: false, vary: undefined, listRepeated: true },
        false,
      ),
    ).toBe('repeated-list');
  });

  it('looks up only GET and HEAD without credentials or ranges; no-cache refreshes', () => {
    expect(requestVerdict('GET', {})).toBe('eligible');
    expect(requestVerdict('HEAD', {})).toBe('eligible');
    expect(requestVerdict('POST', {})).toBe('method');
    expect(requestVerdict('GET', { authorization: 'Bearer x' })).toBe('authorization');
    expect(requestVerdict('GET', { range: 'bytes=0-1' })).toBe('range');
    expect(requestVerdict('GET', { 'cache-control': 'max-age=0, no-cache' })).toBe('refresh');
    expect(requestVerdict('GET', { pragma: 'no-cache' })).toBe('refresh');
    expect(requestVerdict('GET', { 'cache-control': 'max-age=0' })).toBe('eligible');
  });
});

describe('EdgeCache', () => {
  it('finds fresh responses by host, URL, scheme and Vary values; drops stale ones', () => {
    let now = 0;
    const cache = new EdgeCache({ maxBytesPerApp: 1e6, maxBytesTotal: 1e7, maxEntryBytes: 1e5, now: () => now });
    const env = cache.environment(routeOf('web', ['r1']));
    const varied = response(10, { vary: ['accept-language'], varyValues: ['de'] });
    expect(cache.store(env, env.generation, 'web.pier.test', '/a.css', varied)).toBe(true);
    expect(cache.find(env, 'web.pier.test', '/a.css', 'https', { 'accept-language': 'de' }, 'identity')).toBeDefined();
    expect(cache.find(env, 'web.pier.test', '/a.css', 'https', { 'accept-language': 'fr' }, 'identity')).toBeUndefined();
    expect(cache.find(env, 'web.pier.test', '/a.css', 'http', { 'accept-language': 'de' }, 'identity')).toBeUndefined();
    expect(cache.find(env, 'web.pier.test', '/a.css?v=2', 'https', { 'accept-language': 'de' }, 'identity')).toBeUndefined();
    now = 59_999;
    expect(currentAge(varied, now)).toBe(59);
    expect(cache.find(env, 'web.pier.test', '/a.css', 'https', { 'accept-language': 'de' }, 'identity')).toBeDefined();
    now = 60_000;
    expect(cache.find(env, 'web.pier.test', '/a.css', 'https', { 'accept-language': 'de' }, 'identity')).toBeUndefined();
    expect(cache.entries).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('matches Accept-Encoding by negotiated coding and never serves an encoding the client refuses', () => {
    const cache = new EdgeCache({ maxBytesPerApp: 1e6, maxBytesTotal: 1e7, maxEntryBytes: 1e5, now: () => 0 });
    const env = cache.environment(routeOf('web', ['r1']));
    const br = response(10, { vary: ['accept-encoding'], varyValues: ['br'], coding: 'br', contentEncoding: 'br' });
    cache.store(env, env.generation, 'h', '/', br);
    expect(cache.find(env, 'h', '/', 'https', { 'accept-encoding': 'gzip, br' }, 'br')).toBeDefined();
    expect(cache.find(env, 'h', '/', 'https', { 'accept-encoding': 'gzip' }, 'gzip')).toBeUndefined();
    expect(cache.find(env, 'h', '/', 'https', { 'accept-encoding': 'gzip' }, 'br')).toBeUndefined();
  });

  it('evicts an app’s least recently used responses beyond its bound, and anyone’s beyond the total', () => {
    const cache = new EdgeCache({ maxBytesPerApp: 5_000, maxBytesTotal: 8_000, maxEntryBytes: 4_000, now: () => 0 });
    const a = cache.environment(routeOf('a', ['r1']));
    const b = cache.environment(routeOf('b', ['r1']));
    cache.store(a, 0, 'h', '/1', response(1_500));
    cache.store(a, 0, 'h', '/2', response(1_500));
    expect(cache.find(a, 'h', '/1', 'https', {}, 'identity')).toBeDefined(); // /1 is now the most recent
    cache.store(a, 0, 'h', '/3', response(1_500));
    expect(cache.find(a, 'h', '/2', 'https', {}, 'identity')).toBeUndefined();
    expect(cache.find(a, 'h', '/1', 'https', {}, 'identity')).toBeDefined();
    expect(cache.bytesOf('a')).toBeLessThanOrEqual(5_000);
    cache.store(b, 0, 'h', '/1', response(1_500));
    cache.store(b, 0, 'h', '/2', response(1_500));
    expect(cache.bytes).toBeLessThanOrEqual(8_000);
    expect(cache.entries).toBe(3);
    expect(cache.store(b, 0, 'h', '/big', response(4_001))).toBe(false);
  });

  it('keeps a response stored again (a reload, two misses at once) findable, and evicts past it without stalling', () => {
    const cache = new EdgeCache({ maxBytesPerApp: 5_000, maxBytesTotal: 50_000, maxEntryBytes: 4_000, now: () => 0 });
    const a = cache.environment(routeOf('a', ['r1']));
    // The host's only URL, stored twice: the second replaces the first.
    cache.store(a, 0, 'h', '/app.css', response(1_500));
    cache.store(a, 0, 'h', '/app.css', response(1_600));
    expect(cache.find(a, 'h', '/app.css', 'https', {}, 'identity')?.body.length).toBe(1_600);
    expect([cache.entries, cache.bytesOf('a') > 1_600 && cache.bytesOf('a') < 3_000]).toEqual([1, true]);
    // Past the app's bound: the replaced entry is evicted like any other, and nothing loops.
    for (const path of ['/1', '/2', '/3', '/4']) cache.store(a, 0, 'h', path, response(1_500));
    expect(cache.bytesOf('a')).toBeLessThanOrEqual(5_000);
    expect(cache.find(a, 'h', '/4', 'https', {}, 'identity')).toBeDefined();
    expect(cache.find(a, 'h', '/app.css', 'https', {}, 'identity')).toBeUndefined();
  });

  it('clears an environment when its release set changes, not when it only loses its upstreams', () => {
    const cache = new EdgeCache({ maxBytesPerApp: 1e6, maxBytesTotal: 1e7, maxEntryBytes: 1e5, now: () => 0 });
    const env = cache.environment(routeOf('web', ['r1']));
    const other = cache.environment(routeOf('api', ['r7']));
    const started = env.generation;
    cache.store(env, started, 'h', '/', response(10));
    cache.store(other, other.generation, 'h', '/', response(10));
    cache.sync([routeOf('web', []), routeOf('api', ['r7'])]);
    expect(cache.entries).toBe(2);
    cache.sync([routeOf('web', ['r1', 'r2']), routeOf('api', ['r7'])]);
    expect(cache.entries).toBe(1);
    // A response that started before the deploy is not stored after it.
    expect(cache.store(env, started, 'h', '/', response(10))).toBe(false);
    cache.sync([routeOf('web', ['r2'])]);
    expect(cache.entries).toBe(0);
    expect(cache.store(other, other.generation, 'h', '/', response(10))).toBe(false);
  });
});
