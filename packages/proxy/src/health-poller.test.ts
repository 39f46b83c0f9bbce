import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthPoller } from './health-poller.ts';
import { RouteTable } from './route-table.ts';
import { route, send, startEdge, startUpstream, type TestServer } from './testing/servers.ts';
import { UndiciForwarder } from './undici-forwarder.ts';

const INTERVAL = 300;
const servers: TestServer[] = [];
const pollers: HealthPoller[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An upstream whose /health answers 200 or 500 as the test says, and whose other paths name it. */
async function toggleable(name: string) {
  const state = { healthy: true };
  const server = await startUpstream((req, res) => {
    if (req.url === '/healthz') res.writeHead(state.healthy ? 200 : 500).end();
    else res.end(name);
  });
  servers.push(server);
  return { server, state };
}

describe('HealthPoller', () => {
  it('takes a failing upstream out within two intervals and puts it back when it recovers', async () => {
    const a = await toggleable('a');
    const b = await toggleable('b');
    const table = new RouteTable();
    table.replace([
      {
        ...route('web', 'production', ['web.pier.test'], [a.server.upstream('a'), b.server.upstream('b')]),
        healthPath: '/healthz',
      },
    ]);
    const changes: { id: string; healthy: boolean; at: number; status?: number }[] = [];
    const poller = new HealthPoller({
      targets: () => table.healthTargets(),
      intervalMs: INTERVAL,
      timeoutMs: 150,
      onChange: (id, healthy, detail) =>
        changes.push({ id, healthy, at: Date.now(), ...(detail.status ? { status: detail.status } : {}) }),
    });
    pollers.push(poller);
    poller.start();
    await sleep(INTERVAL * 1.5);
    expect(poller.isHealthy('a')).toBe(true);

    const failedAt = Date.now();
    a.state.healthy = false;
    await expect.poll(() => poller.isHealthy('a'), { timeout: INTERVAL * 2, interval: 10 }).toBe(false);
    expect(changes).toEqual([{ id: 'a', healthy: false, at: expect.any(Number), status: 500 }]);
    expect((changes[0]?.at ?? 0) - failedAt).toBeLessThanOrEqual(INTERVAL * 2);

    // Out of rotation: every request goes to b.
    const edge = await startEdge({ routes: table.routes as never, forwarder: new UndiciForwarder(), health: poller });
    servers.push(edge);
    const bodies = await Promise.all(Array.from({ length: 6 }, () => send(edge.port, 'web.pier.test').then((r) => r.body)));
    expect({ bodies, changes }).toEqual({ bodies: bodies.map(() => 'b'), changes: [expect.objectContaining({ id: 'a' })] });

    const recoveredAt = Date.now();
    a.state.healthy = true;
    await expect.poll(() => poller.isHealthy('a'), { timeout: INTERVAL * 2, interval: 10 }).toBe(true);
    expect((changes[1]?.at ?? 0) - recoveredAt).toBeLessThanOrEqual(INTERVAL * 2);
    expect(changes[1]).toMatchObject({ id: 'a', healthy: true });
    expect(poller.report().map((r) => [r.upstreamId, r.healthy])).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });

  it('checks as the live release says (automatic when the route names no check), with the route’s hostname as Host', async () => {
    const seen: string[] = [];
    // No /health; / answers only its own hostname, as a framework checking allowed hosts does.
    const upstream = await startUpstream((req, res) => {
      seen.push(`${req.url} ${req.headers.host}`);
      if (req.url === '/health') res.writeHead(404).end();
      else res.writeHead(req.headers.host === 'web.pier.test' ? 200 : 500).end();
    });
    servers.push(upstream);
    const table = new RouteTable();
    table.replace([route('web', 'production', ['web.pier.test', 'www.example.org'], [upstream.upstream('a')])]);
    const poller = new HealthPoller({ targets: () => table.healthTargets(), intervalMs: INTERVAL, timeoutMs: 150 });
    pollers.push(poller);
    poller.start();
    await expect.poll(() => poller.report()[0]?.last?.status, { timeout: INTERVAL * 2, interval: 10 }).toBe(200);
    expect(poller.isHealthy('a')).toBe(true);
    expect(seen.slice(0, 2)).toEqual(['/health web.pier.test', '/ web.pier.test']);
  });

  it('counts a dead listener and a hung one as failing, and forgets upstreams no longer routed', async () => {
    const hung = await startUpstream(() => {});
    servers.push(hung);
    const table = new RouteTable();
    table.replace([
      route('web', 'production', ['web.pier.test'], [hung.upstream('hung'), { id: 'dead', host: '127.0.0.1', port: 1 }]),
    ]);
    const poller = new HealthPoller({ targets: () => table.healthTargets(), intervalMs: INTERVAL, timeoutMs: 80 });
    pollers.push(poller);
    poller.start();
    await expect
      .poll(() => [poller.isHealthy('hung'), poller.isHealthy('dead')], { timeout: INTERVAL * 2 })
      .toEqual([false, false]);
    expect(poller.report().find((r) => r.upstreamId === 'hung')?.last?.error).toMatch(/timed out/);
    expect(poller.report().find((r) => r.upstreamId === 'dead')?.last?.error).toMatch(/ECONNREFUSED/);
    table.replace([]);
    poller.sync();
    expect(poller.report()).toEqual([]);
    expect(poller.isHealthy('dead')).toBe(true);
  });
});
