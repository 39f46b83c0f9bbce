import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Route, RouteSource } from '@pier/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RouteFeed, type RouteFeedOptions } from './route-feed.ts';
import { readSnapshot, writeSnapshot } from './route-snapshot.ts';
import { RouteTable } from './route-table.ts';
import { MemoryRouteSource } from './testing/memory-route-source.ts';
import { route, send, startEchoUpstream, startEdge } from './testing/servers.ts';
import { UndiciForwarder } from './undici-forwarder.ts';

const web = (port: number): Route => route('web', 'production', ['web.pier.test'], [{ id: `c${port}`, host: '127.0.0.1', port }]);

let dir: string;
let snapshotPath: string;
const feeds: RouteFeed[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pier-feed-'));
  snapshotPath = join(dir, 'routes.json');
});
afterEach(async () => {
  await Promise.all(feeds.splice(0).map((f) => f.stop()));
  await rm(dir, { recursive: true, force: true });
});

function feed(source: RouteSource | undefined, options: Partial<RouteFeedOptions> = {}) {
  const applied: Route[][] = [];
  const f = new RouteFeed({ source, snapshotPath, apply: (routes) => applied.push(routes), debounceMs: 30, ...options });
  feeds.push(f);
  return { feed: f, applied };
}

describe('RouteFeed', () => {
  it('loads at start and saves the table as the snapshot', async () => {
    const source = new MemoryRouteSource();
    source.setSilently([web(1)]);
    const { feed: f, applied } = feed(source);
    expect(await f.start()).toMatchObject({ origin: 'source', routes: 1 });
    expect(applied).toEqual([[web(1)]]);
    await expect.poll(async () => (await readSnapshot(snapshotPath).catch(() => null))?.routes).toEqual([web(1)]);
  });

  it('reloads once per burst of change notifications (debounced)', async () => {
    const source = new MemoryRouteSource();
    const { feed: f, applied } = feed(source);
    await f.start();
    source.setSilently([web(2)]);
    for (let i = 0; i < 5; i++) source.notify();
    await expect.poll(() => applied.at(-1)).toEqual([web(2)]);
    await sleep(100);
    expect(source.loads).toBe(2);
  });

  it('reloads in full on its own when a notification was lost', async () => {
    const source = new MemoryRouteSource();
    const { feed: f, applied } = feed(source, { fullReloadMs: 80 });
    await f.start();
    source.setSilently([web(3)]);
    await expect.poll(() => applied.at(-1), { timeout: 1_000 }).toEqual([web(3)]);
  });

  it('keeps serving the current table when the source fails, and catches up when it returns', async () => {
    const source = new MemoryRouteSource();
    source.setSilently([web(4)]);
    const { feed: f, applied } = feed(source, { retryMs: 40 });
    await f.start();
    source.failing = true;
    source.notify();
    await expect.poll(() => f.status.lastError).toMatch(/made to fail/);
    expect(applied).toEqual([[web(4)]]);
    source.failing = false;
    source.setSilently([web(5)]);
    await expect.poll(() => applied.at(-1), { timeout: 1_000 }).toEqual([web(5)]);
    expect(f.status.origin).toBe('source');
  });

  it('does not apply or save a table that did not change', async () => {
    const source = new MemoryRouteSource();
    source.setSilently([web(6)]);
    const { feed: f, applied } = feed(source);
    await f.start();
    await expect.poll(async () => (await readSnapshot(snapshotPath).catch(() => null))?.savedAt).toBeTruthy();
    const saved = await readFile(snapshotPath, 'utf8');
    await f.reload();
    await f.reload();
    expect(applied).toHaveLength(1);
    expect(await readFile(snapshotPath, 'utf8')).toBe(saved);
  });

  it('starts from the snapshot when the source throws, and serves from it', async () => {
    const upstream = await startEchoUpstream('from-snapshot');
    await writeSnapshot(snapshotPath, [route('web', 'production', ['web.pier.test'], [upstream.upstream()])]);
    const source = new MemoryRouteSource();
    source.failing = true;
    const table = new RouteTable();
    const f = new RouteFeed({ source, snapshotPath, apply: (routes) => table.replace(routes), retryMs: 60_000 });
    feeds.push(f);
    expect(await f.start()).toMatchObject({ origin: 'snapshot', routes: 1 });
    const edge = await startEdge({ routes: [...table.routes], forwarder: new UndiciForwarder() });
    try {
      const res = await send(edge.port, 'web.pier.test');
      expect(JSON.parse(res.body).upstream).toBe('from-snapshot');
    } finally {
      await edge.close();
      await upstream.close();
    }
    // The snapshot is not rewritten from itself.
    expect((await readSnapshot(snapshotPath)).routes).toHaveLength(1);
  });

  it('starts with no routes when the source fails and the snapshot is corrupt', async () => {
    await writeFile(snapshotPath, '{"version":1,"routes":[{"app":');
    const source = new MemoryRouteSource();
    source.failing = true;
    const { feed: f, applied } = feed(source, { retryMs: 60_000 });
    expect(await f.start()).toMatchObject({ origin: 'none', routes: 0, lastError: expect.stringMatching(/not valid JSON/) });
    expect(applied).toEqual([]);
  });

  it('without a source, serves the snapshot file alone', async () => {
    await writeSnapshot(snapshotPath, [web(7)]);
    const { feed: f, applied } = feed(undefined);
    expect(await f.start()).toMatchObject({ origin: 'snapshot', routes: 1 });
    expect(applied).toEqual([[web(7)]]);
  });

  it('stops following changes after stop()', async () => {
    const source = new MemoryRouteSource();
    const { feed: f } = feed(source, { fullReloadMs: 50 });
    await f.start();
    await f.stop();
    expect(source.listeners.size).toBe(0);
    const loads = source.loads;
    await sleep(150);
    expect(source.loads).toBe(loads);
  });
});
