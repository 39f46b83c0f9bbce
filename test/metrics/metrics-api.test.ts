import { emptyLatency } from '@pier/core';
import { MetricStore, PostgresRequestMetrics } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

/**
 * What the stores hold, as the api serves it: an environment's requests and
 * replicas merged to the step asked for, the host's figures (admin only),
 * the Prometheus text (admin only), bad ranges refused naming the field,
 * and the hourly roll-up that keeps the same totals.
 */

let api: TestApi;
let environmentId: string;
let appToken: string;
let metrics: MetricStore;
const NOW = Date.now();
/** Two minutes well inside the last hour, five minutes apart. */
const M1 = new Date(Math.floor((NOW - 20 * 60_000) / 300_000) * 300_000);
const M2 = new Date(M1.getTime() + 60_000);
const latency = (counts: Record<number, number>) => emptyLatency().map((_, i) => counts[i] ?? 0);

beforeAll(async () => {
  api = await createTestApi();
  await api.request({ method: 'POST', url: '/apps', payload: { name: 'shop' } });
  const [env] = await api.database.sql<{ id: string }[]>`
    select e.id from environments e join apps a on a.id = e.app_id where a.name = 'shop' and e.name = 'production'`;
  environmentId = env?.id as string;
  appToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'shop', app: 'shop' } })).json().token;
  metrics = new MetricStore(api.database.db);
  const sink = new PostgresRequestMetrics(api.database.sql);
  const bucket = (at: Date, ok: number, failed: number, counts: Record<number, number>) => ({
    environmentId,
    releaseId: null,
    at,
    byClass: [0, 0, ok, 0, 0, failed],
    bytesIn: 100 * (ok + failed),
    bytesOut: 1000 * (ok + failed),
    latencyBuckets: latency(counts),
    latencySum: 1,
  });
  // 100 per minute, 2 of them failing; 90 answered within 5 ms, 10 within 100-250 ms.
  await sink.add([bucket(M1, 98, 2, { 2: 90, 7: 10 }), bucket(M2, 98, 2, { 2: 90, 7: 10 })], 60);
  const replica = { environmentId, replica: 'pier-shop-production-v1-abc', processType: 'web', releaseId: null };
  await metrics.addReplicaSamples(
    [{ ...replica, cpuSeconds: 30, memoryBytes: 50e6, memoryLimitBytes: 256e6, rxBytes: 10, txBytes: 20 }],
    M1,
  );
  await metrics.addReplicaSamples(
    [{ ...replica, cpuSeconds: 30, memoryBytes: 40e6, memoryLimitBytes: 256e6, rxBytes: 10, txBytes: 20 }],
    new Date(M1.getTime() + 30_000),
  );
  const host = {
    node: 'local',
    cpuBusy: 0.25,
    cpus: 2,
    memoryTotalBytes: 8e9,
    memoryAvailableBytes: 6e9,
    load1: 0.5,
    load5: 0.4,
    load15: 0.3,
    rootTotalBytes: 100e9,
    rootFreeBytes: 40e9,
    dockerTotalBytes: null,
    dockerFreeBytes: null,
  };
  await metrics.addHostSample(host, M1);
  await metrics.addHostSample({ ...host, cpuBusy: 0.75, rootFreeBytes: 39e9 }, new Date(M1.getTime() + 20_000));
});
afterAll(async () => api?.close());

describe('GET /apps/:app/environments/:env/metrics', () => {
  it('serves request rate, error share, latency percentiles and bytes, merged to the step asked for', async () => {
    const res = await api.request({
      method: 'GET',
      url: '/apps/shop/environments/production/metrics?since=1h&step=300',
      token: appToken,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.step).toBe(300);
    expect(body.requests).toEqual([
      expect.objectContaining({
        at: M1.toISOString(),
        requests: 200,
        byClass: { '1xx': 0, '2xx': 196, '3xx': 0, '4xx': 0, '5xx': 4 },
        errorRate: 0.02,
        bytesIn: 20_000,
        bytesOut: 200_000,
      }),
    ]);
    const [point] = body.requests;
    expect(point.perSecond).toBeCloseTo(200 / 300, 9);
    expect(point.latency.p50).toBeGreaterThan(0.0025);
    expect(point.latency.p50).toBeLessThanOrEqual(0.005);
    expect(point.latency.p99).toBeGreaterThan(0.1);
    expect(point.latency.p99).toBeLessThanOrEqual(0.25);
  });

  it("serves each replica's CPU in cores, its memory (latest and highest) and limit", async () => {
    const body = (
      await api.request({ method: 'GET', url: '/apps/shop/environments/production/metrics?since=1h&step=60' })
    ).json();
    expect(body.processes).toEqual([
      {
        type: 'web',
        replicas: [
          {
            replica: 'pier-shop-production-v1-abc',
            releaseId: null,
            points: [
              {
                at: M1.toISOString(),
                cpuCores: 1,
                memoryBytes: 40e6,
                memoryMaxBytes: 50e6,
                memoryLimitBytes: 256e6,
                rxBytes: 20,
                txBytes: 40,
              },
            ],
          },
        ],
        restarts: [],
      },
    ]);
  });

  it.each([
    ['since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z', 'since'],
    ['step=10', 'step'],
    ['since=7d&step=60', 'step'],
    ['since=soon', 'since'],
  ])('refuses %s naming %s', async (query, field) => {
    const res = await api.request({ method: 'GET', url: `/apps/shop/environments/production/metrics?${query}` });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.message).toMatch(new RegExp(`^${field}:`));
  });
});

describe('GET /host/metrics and GET /metrics', () => {
  it("serves the host's CPU, memory, load and disks to an admin only", async () => {
    expect((await api.request({ method: 'GET', url: '/host/metrics', token: appToken })).statusCode).toBe(403);
    const body = (await api.request({ method: 'GET', url: '/host/metrics?since=1h' })).json();
    expect(body.points).toEqual([
      expect.objectContaining({
        node: 'local',
        cpuBusy: 0.5,
        disks: { root: { totalBytes: 100e9, freeBytes: 39e9 }, docker: null },
        load: { load1: 0.5, load5: 0.4, load15: 0.3 },
      }),
    ]);
  });

  it('renders Prometheus text labelled by app and environment, for an admin token only', async () => {
    // Gauges only for replicas sampled in the last minutes: the one sampled 20 minutes ago is gone.
    const fresh = { environmentId, replica: 'pier-shop-production-v2-new', processType: 'web', releaseId: null };
    await metrics.addReplicaSamples(
      [{ ...fresh, cpuSeconds: 1, memoryBytes: 40e6, memoryLimitBytes: 256e6, rxBytes: 1, txBytes: 1 }],
      new Date(),
    );
    // The host's gauges likewise: its sample of now, not the latest ever stored.
    await api.database.sql`
      insert into host_metrics (node, step, at, cpu_busy, cpus, memory_total_bytes, memory_available_bytes, load1, load5,
                                load15, root_total_bytes, root_free_bytes)
      values ('local', 60, date_trunc('minute', now()), 0.5, 2, 8e9, 6e9, 0.5, 0.4, 0.3, 100e9, 38e9)`;
    expect((await api.request({ method: 'GET', url: '/metrics', token: appToken })).statusCode).toBe(403);
    expect((await api.request({ method: 'GET', url: '/metrics', token: null })).statusCode).toBe(401);
    const res = await api.request({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('pier_requests_total{app="shop",env="production",code="2xx"} 196\n');
    expect(res.body).toContain('pier_request_duration_seconds_bucket{app="shop",env="production",le="0.005"} 180\n');
    expect(res.body).toContain('pier_request_duration_seconds_count{app="shop",env="production"} 200\n');
    expect(res.body).toContain('pier_request_bytes_total{app="shop",env="production",direction="out"} 200000\n');
    expect(res.body).toContain(
      'pier_replica_memory_bytes{app="shop",env="production",process="web",replica="pier-shop-production-v2-new"} 40000000\n',
    );
    expect(res.body).not.toContain('replica="pier-shop-production-v1-abc"');
    expect(res.body).toContain('pier_host_root_free_bytes{node="local"} 38000000000\n');
  });
});

describe('the hourly roll-up', () => {
  it('moves minutes into their hour with the same totals, and expires hours past retention', async () => {
    const before = (await api.request({ method: 'GET', url: '/metrics' })).body;
    const result = await metrics.rollUp({ fineBefore: new Date(NOW + 3_600_000), coarseBefore: new Date(0) });
    expect(result.hours).toBeGreaterThanOrEqual(3); // requests, replicas, host: an hour each (two if the minutes straddle one)
    const steps = await api.database.sql<{ step: number }[]>`
      select distinct step from request_metrics where environment_id = ${environmentId}`;
    expect(steps.map((s) => s.step)).toEqual([3600]);
    // The same totals, now from hour rows.
    const after = (await api.request({ method: 'GET', url: '/metrics' })).body;
    for (const line of before.split('\n').filter((l) => l.startsWith('pier_request'))) expect(after).toContain(line);
    const [hour] = await api.database.sql<{ memory_bytes: string; memory_max_bytes: string; samples: number }[]>`
      select memory_bytes, memory_max_bytes, samples from replica_metrics
      where step = 3600 and replica = 'pier-shop-production-v1-abc'`;
    expect(hour).toMatchObject({ memory_bytes: '40000000', memory_max_bytes: '50000000', samples: 2 });
  });

  it('folds hours past retention into an archive row: counters keep their totals, ranges leave it out', async () => {
    const before = (await api.request({ method: 'GET', url: '/metrics' })).body;
    const expired = await metrics.rollUp({ fineBefore: new Date(0), coarseBefore: new Date(NOW + 7_200_000) });
    expect(expired.expired).toBeGreaterThanOrEqual(3);
    const after = (await api.request({ method: 'GET', url: '/metrics' })).body;
    const counters = before.split('\n').filter((l) => l.startsWith('pier_request'));
    expect(counters.length).toBeGreaterThan(0);
    for (const line of counters) expect(after).toContain(line);
    const rows = await api.database.sql<
      { step: number; at: string }[]
    >`select step, extract(epoch from at)::int as at from request_metrics`;
    expect(rows).toEqual([{ step: 0, at: 0 }]);
    // The replica has nothing else kept: its archive row goes; the host's hours are deleted.
    expect(await api.database.sql`select 1 from replica_metrics union all select 1 from host_metrics`).toHaveLength(0);
    const range = await metrics.environment(environmentId, { since: new Date(0), until: new Date(NOW), step: 3600 });
    expect(range.requests).toEqual([]);
    // A second expiry adds nothing twice.
    await metrics.rollUp({ fineBefore: new Date(0), coarseBefore: new Date(NOW + 7_200_000) });
    expect((await api.request({ method: 'GET', url: '/metrics' })).body).toBe(after);
  });
});
