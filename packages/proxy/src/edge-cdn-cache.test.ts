import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeStarted,
  decoded,
  edgeFor,
  fetchRaw,
  HOST,
  HTML,
  type Page,
  routeTo,
  startSite,
  track,
} from './testing/cdn-site.ts';
import { startUpstream } from './testing/servers.ts';

afterEach(closeStarted);

const ASSET: Page = { headers: { 'content-type': 'text/css', 'cache-control': 'public, max-age=60' }, body: HTML };

describe('EdgeCdn cache', () => {
  it('serves a public max-age asset once from the upstream, then from memory with a growing Age, until it expires', async () => {
    const site = await startSite({ '/app.css': ASSET });
    let now = 1_000_000;
    const edge = await edgeFor(site.upstream, { now: () => now });
    const first = await fetchRaw(edge.port, '/app.css', { 'accept-encoding': 'br' });
    expect(first.headers['cache-status']).toBe('pier; fwd=uri-miss; stored; ttl=60');
    for (let i = 0; i < 5; i++) {
      const hit = await fetchRaw(edge.port, '/app.css', { 'accept-encoding': 'br' });
      expect(hit.headers['cache-status']).toBe('pier; hit; ttl=60');
      expect(hit.headers['content-encoding']).toBe('br');
      expect(decoded(hit).equals(HTML)).toBe(true);
      expect(hit.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    }
    expect(site.hits('/app.css')).toBe(1);
    now += 7_500;
    const older = await fetchRaw(edge.port, '/app.css', { 'accept-encoding': 'br' });
    expect([older.headers.age, older.headers['cache-status']]).toEqual(['7', 'pier; hit; ttl=53']);
    const head = await fetchRaw(edge.port, '/app.css', { 'accept-encoding': 'br' }, 'HEAD');
    expect([head.headers['cache-status'], head.headers['content-length'], head.body.length]).toEqual([
      'pier; hit; ttl=53',
      String(first.body.length),
      0,
    ]);
    // Another coding is another variant: fetched once, compressed once, kept.
    await fetchRaw(edge.port, '/app.css', { 'accept-encoding': 'gzip' });
    const gzipHit = await fetchRaw(edge.port, '/app.css', { 'accept-encoding': 'gzip' });
    expect([gzipHit.headers['content-encoding'], decoded(gzipHit).equals(HTML)]).toEqual(['gzip', true]);
    expect(site.hits('/app.css')).toBe(2);
    now += 60_000;
    const expired = await fetchRaw(edge.port, '/app.css', { 'accept-encoding': 'br' });
    // Both variants were stale: dropped when met, so the URI is a miss again.
    expect(expired.headers['cache-status']).toBe('pier; fwd=uri-miss; stored; ttl=60');
    expect(site.hits('/app.css')).toBe(3);
    // Hits count in the proxy's metrics for the release that answered, like forwarded requests.
    const [bucket] = edge.metrics.takeBuckets(new Date());
    expect(bucket?.releaseId).toBe('r1');
    expect(bucket?.byClass.reduce((a, b) => a + b, 0)).toBe(11);
  });

  it('stores nothing for private, no-store, no-cache, Set-Cookie, Vary: *, other statuses or no lifetime', async () => {
    const css = { 'content-type': 'text/css' };
    const site = await startSite({
      '/private': { headers: { ...css, 'cache-control': 'private, max-age=60' }, body: HTML },
      '/no-store': { headers: { ...css, 'cache-control': 'no-store, max-age=60' }, body: HTML },
      '/no-cache': { headers: { ...css, 'cache-control': 'no-cache, max-age=60' }, body: HTML },
      '/cookie': { headers: { ...css, 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=1' }, body: HTML },
      '/vary-star': { headers: { ...css, 'cache-control': 'public, max-age=60', vary: '*' }, body: HTML },
      '/gone': { status: 404, headers: { ...css, 'cache-control': 'public, max-age=60' }, body: HTML },
      '/public': { headers: { ...css, 'cache-control': 'public' }, body: HTML },
      '/plain': { headers: css, body: HTML },
    });
    const edge = await edgeFor(site.upstream);
    const expected: Record<string, string | undefined> = {
      '/private': 'pier; fwd=uri-miss; detail=private',
      '/no-store': 'pier; fwd=uri-miss; detail=no-store',
      '/no-cache': 'pier; fwd=uri-miss; detail=no-cache',
      '/cookie': 'pier; fwd=uri-miss; detail=set-cookie',
      '/vary-star': 'pier; fwd=uri-miss; detail=vary',
      '/gone': 'pier; fwd=uri-miss; detail=status',
      '/public': 'pier; fwd=uri-miss; detail=no-lifetime',
      '/plain': undefined,
    };
    for (const [path, status] of Object.entries(expected)) {
      for (let i = 0; i < 2; i++) expect((await fetchRaw(edge.port, path)).headers['cache-status'], path).toBe(status);
      expect(site.hits(path), path).toBe(2);
    }
    expect(edge.cache?.entries).toBe(0);
  });

  it('keeps a user’s answer to itself: a request with a Cookie is stored only when the answer says it is for everyone', async () => {
    const css = { 'content-type': 'text/css' };
    const site = await startSite({
      '/api/me': { headers: { ...css, 'cache-control': 'max-age=60' }, body: HTML },
      '/shared': { headers: { ...css, 'cache-control': 'public, max-age=60' }, body: HTML },
      '/by-cookie': { headers: { ...css, 'cache-control': 'max-age=60', vary: 'Cookie' }, body: HTML },
      // Two Cache-Control lines combine: the first says private.
      '/two-lines': { headers: { ...css, 'cache-control': ['private', 'max-age=60'] }, body: HTML },
    });
    const edge = await edgeFor(site.upstream);
    const status = async (path: string, cookie: string) => (await fetchRaw(edge.port, path, { cookie })).headers['cache-status'];
    expect(await status('/api/me', 'sid=alice')).toBe('pier; fwd=uri-miss; detail=cookie');
    expect(await status('/api/me', 'sid=bob')).toBe('pier; fwd=uri-miss; detail=cookie');
    expect(site.hits('/api/me')).toBe(2);
    expect(await status('/shared', 'sid=alice')).toBe('pier; fwd=uri-miss; stored; ttl=60');
    expect(await status('/shared', 'sid=bob')).toBe('pier; hit; ttl=60');
    expect(await status('/by-cookie', 'sid=alice')).toBe('pier; fwd=uri-miss; stored; ttl=60');
    expect(await status('/by-cookie', 'sid=bob')).toBe('pier; fwd=vary-miss; stored; ttl=60');
    expect(site.hits('/by-cookie')).toBe(2);
    expect(await status('/two-lines', 'x=1')).toBe('pier; fwd=uri-miss; detail=repeated-list');
    expect(await status('/two-lines', 'x=1')).toBe('pier; fwd=uri-miss; detail=repeated-list');
  });

  it('never answers or stores requests with Authorization, Range, POST; no-cache refreshes the stored answer', async () => {
    const site = await startSite({ '/app.css': ASSET });
    const edge = await edgeFor(site.upstream);
    const bypass = [
      [{ authorization: 'Bearer secret' }, 'GET', 'authorization'],
      [{ range: 'bytes=0-9' }, 'GET', 'range'],
      [{}, 'POST', 'method'],
    ] as const;
    for (const [headers, method, reason] of bypass) {
      const answer = await fetchRaw(edge.port, '/app.css', headers, method);
      expect(answer.headers['cache-status']).toBe(`pier; fwd=bypass; detail=${reason}`);
    }
    expect(edge.cache?.entries).toBe(0);
    await fetchRaw(edge.port, '/app.css');
    expect((await fetchRaw(edge.port, '/app.css')).headers['cache-status']).toBe('pier; hit; ttl=60');
    // Stored, yet these still go to the upstream.
    await fetchRaw(edge.port, '/app.css', { authorization: 'Bearer secret' });
    await fetchRaw(edge.port, '/app.css', { range: 'bytes=0-9' });
    const reload = await fetchRaw(edge.port, '/app.css', { 'cache-control': 'no-cache' });
    expect(reload.headers['cache-status']).toBe('pier; fwd=request; stored; ttl=60');
    expect(site.hits('/app.css')).toBe(7);
    expect(edge.cache?.entries).toBe(1);
  });

  it('keeps one variant per value of the headers the response varies on', async () => {
    const site = await startSite({
      '/greeting': {
        headers: { 'content-type': 'image/png', 'cache-control': 'max-age=60', vary: 'Accept-Language' },
        body: Buffer.alloc(100, 1),
      },
    });
    const edge = await edgeFor(site.upstream);
    for (let i = 0; i < 3; i++) {
      await fetchRaw(edge.port, '/greeting', { 'accept-language': 'de' });
      await fetchRaw(edge.port, '/greeting', { 'accept-language': 'fr' });
    }
    expect(site.hits('/greeting')).toBe(2);
    expect(edge.cache?.entries).toBe(2);
    const other = await fetchRaw(edge.port, '/greeting', { 'accept-language': 'en' });
    expect(other.headers['cache-status']).toBe('pier; fwd=vary-miss; stored; ttl=60');
  });

  it('evicts the least recently used asset beyond the app’s bound', async () => {
    const image = {
      headers: { 'content-type': 'image/png', 'cache-control': 'public, max-age=60' },
      body: Buffer.alloc(10_000, 1),
    };
    const site = await startSite({ '/1.png': image, '/2.png': image, '/3.png': image });
    const edge = await edgeFor(site.upstream, { maxBytesPerApp: 25_000 });
    for (const path of ['/1.png', '/2.png', '/3.png', '/2.png', '/3.png', '/1.png']) await fetchRaw(edge.port, path);
    expect([site.hits('/1.png'), site.hits('/2.png'), site.hits('/3.png')]).toEqual([2, 1, 1]);
    expect(edge.cache?.bytesOf('web')).toBeLessThanOrEqual(25_000);
  });

  it('forgets an environment’s responses when a deploy changes its release', async () => {
    const site = await startSite({ '/app.css': ASSET });
    const edge = await edgeFor(site.upstream);
    await fetchRaw(edge.port, '/app.css');
    await fetchRaw(edge.port, '/app.css');
    expect(site.hits('/app.css')).toBe(1);
    edge.table.replace([routeTo(site.upstream, 'r2')]);
    expect(edge.cache?.entries).toBe(0);
    expect((await fetchRaw(edge.port, '/app.css')).headers['cache-status']).toBe('pier; fwd=uri-miss; stored; ttl=60');
    expect(site.hits('/app.css')).toBe(2);
  });

  it('streams a response above the entry limit fully without storing it', async () => {
    const big = Buffer.alloc(100_000, 3);
    const png = { 'content-type': 'image/png', 'cache-control': 'public, max-age=60' };
    const site = await startSite({
      '/known.png': { headers: png, body: big },
      '/streamed.png': { headers: png, body: big, chunked: true },
    });
    const edge = await edgeFor(site.upstream, { maxEntryBytes: 64 * 1024 });
    const known = await fetchRaw(edge.port, '/known.png');
    expect([known.body.equals(big), known.headers['cache-status']]).toEqual([true, 'pier; fwd=uri-miss; detail=too-big']);
    const streamed = await fetchRaw(edge.port, '/streamed.png');
    expect(streamed.body.equals(big)).toBe(true);
    expect(edge.cache?.entries).toBe(0);
    await fetchRaw(edge.port, '/streamed.png');
    expect(site.hits('/streamed.png')).toBe(2);
  });

  it('stores nothing of a response whose client left before its end', async () => {
    let finish: (() => void) | undefined;
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=60' });
      res.write(Buffer.alloc(1000, 1));
      finish = () => res.end(Buffer.alloc(1000, 2));
    });
    track(upstream);
    const edge = await edgeFor(upstream);
    await new Promise<void>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: edge.port, path: '/a.png', agent: false, headers: { host: HOST } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => {});
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    finish?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(edge.cache?.entries).toBe(0);
  });
});
