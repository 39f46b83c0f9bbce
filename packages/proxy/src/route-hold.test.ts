import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Forwarder } from './forwarder.ts';
import { HttpProxyForwarder } from './http-proxy-forwarder.ts';
import { route, send, startEchoUpstream, startEdge, type TestServer } from './testing/servers.ts';
import { UndiciForwarder } from './undici-forwarder.ts';

/**
 * The hold: while a route exists with no upstream and its replicas are being
 * swapped (`hold`: a rollout of a single-writer web process is under way), requests wait for a route reload that brings one, bounded in time
 * and in number; real HTTP servers on loopback.
 */

const forwarders: [string, () => Forwarder][] = [
  ['undici', () => new UndiciForwarder()],
  ['http-proxy', () => new HttpProxyForwarder()],
];

const started: TestServer[] = [];
async function track<T extends TestServer>(server: Promise<T>): Promise<T> {
  const s = await server;
  started.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

const HOST = 'web.pier.test';
/** The route of an environment whose rollout is under way, with no upstream right now. */
const empty = () => [{ ...route('web', 'production', [HOST], []), hold: true }];

describe.each(forwarders)('RouteHold on %s', (_name, makeForwarder) => {
  it('holds requests while the route has no upstream and forwards them, bodies intact, once a reload brings one', async () => {
    const edge = await track(startEdge({ forwarder: makeForwarder(), routes: empty() }));
    const get = send(edge.port, HOST, { path: '/a' });
    const post = send(edge.port, HOST, { method: 'POST', path: '/b', body: 'kept while held' });
    await expect.poll(() => edge.proxy.held, { timeout: 5000, interval: 10 }).toBe(2);
    edge.table.replace(empty()); // another reload, still without upstream: they keep waiting
    expect(edge.proxy.held).toBe(2);

    const up = await track(startEchoUpstream('new'));
    edge.table.replace([route('web', 'production', [HOST], [up.upstream('new')])]);
    const [a, b] = await Promise.all([get, post]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(JSON.parse(a.body)).toMatchObject({ upstream: 'new', url: '/a' });
    expect(JSON.parse(b.body)).toMatchObject({ upstream: 'new', method: 'POST', url: '/b' });
    expect(edge.proxy.held).toBe(0);
  });

  it('answers 503 with Retry-After once a request was held for the bound', async () => {
    const edge = await track(startEdge({ forwarder: makeForwarder(), routes: empty(), hold: { maxWaitMs: 300 } }));
    const started = Date.now();
    const res = await send(edge.port, HOST, { headers: { accept: 'application/json' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.parse(res.body).error.code).toBe('no_upstream');
    expect(edge.proxy.held).toBe(0);
  });

  it('holds at most maxPerRoute requests of a route: the next gets 503 with Retry-After at once', async () => {
    const edge = await track(startEdge({ forwarder: makeForwarder(), routes: empty(), hold: { maxPerRoute: 2 } }));
    const held = [send(edge.port, HOST), send(edge.port, HOST)];
    await expect.poll(() => edge.proxy.held, { timeout: 5000, interval: 10 }).toBe(2);
    const refused = await send(edge.port, HOST);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');

    const up = await track(startEchoUpstream('late'));
    edge.table.replace([route('web', 'production', [HOST], [up.upstream()])]);
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('lets go of a request whose client left, and answers 404 to one whose route was removed meanwhile', async () => {
    const edge = await track(startEdge({ forwarder: makeForwarder(), routes: empty() }));
    const leaving = request({ host: '127.0.0.1', port: edge.port, path: '/', agent: false, headers: { host: HOST } });
    leaving.on('error', () => {});
    leaving.end();
    await expect.poll(() => edge.proxy.held, { timeout: 5000, interval: 10 }).toBe(1);
    leaving.destroy();
    await expect.poll(() => edge.proxy.held, { timeout: 5000, interval: 10 }).toBe(0);

    const orphan = send(edge.port, HOST);
    await expect.poll(() => edge.proxy.held, { timeout: 5000, interval: 10 }).toBe(1);
    edge.table.replace([]);
    expect((await orphan).status).toBe(404);
  });

  it('answers 503 at once to held requests when a reload no longer holds the route (its rollout failed)', async () => {
    const edge = await track(startEdge({ forwarder: makeForwarder(), routes: empty(), hold: { maxWaitMs: 60_000 } }));
    const held = [send(edge.port, HOST, { headers: { accept: 'application/json' } }), send(edge.port, HOST)] as const;
    await expect.poll(() => edge.proxy.held, { timeout: 5000, interval: 10 }).toBe(2);
    const released = Date.now();
    edge.table.replace([route('web', 'production', [HOST], [])]); // still no upstream, no longer hold
    const [a, b] = await Promise.all(held);
    expect(Date.now() - released).toBeLessThan(5000); // not the 60 s bound
    expect([a.status, b.status]).toEqual([503, 503]);
    expect(a.headers['retry-after']).toBe('5');
    expect(JSON.parse(a.body).error.code).toBe('no_upstream');
    expect(edge.proxy.held).toBe(0);
  });

  it('does not hold a route without upstreams when no rollout is under way (503 at once, as before)', async () => {
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', [HOST], [])], hold: { maxWaitMs: 10_000 } }),
    );
    const res = await send(edge.port, HOST, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).error.code).toBe('no_healthy_upstream');
    expect(edge.proxy.held).toBe(0);
  });

  it('does not hold a route that has upstreams, even unhealthy ones (503 at once, as before)', async () => {
    const up = await track(startEchoUpstream('sick'));
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        routes: [route('web', 'production', [HOST], [up.upstream()])],
        health: { isHealthy: () => false },
        hold: { maxWaitMs: 10_000 },
      }),
    );
    const res = await send(edge.port, HOST, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).error.code).toBe('no_healthy_upstream');
  });
});
