/** What counting requests and flushing them to Postgres costs the proxy: the same proxy with and without, interleaved. */
import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { ProxyMetrics } from '@pier/proxy';
import { createTestDatabase } from '../../test/support/database.ts';
import setupTemplateDatabase from '../../test/support/global-setup.ts';
import type { MetricsMode } from './child-roles.ts';
import { measureRounds } from './measure.ts';
import { startMetricsProxy, stopChild } from './processes.ts';
import { fmt, type LoadResult, type Settings } from './shared.ts';

/** Flushed far more often than apps/proxy's default (10 s), so that the flush's share shows. */
const FLUSH_MS = 1_000;

const COUNTED_CALLS = 2_000_000;

/**
 * CPU nanoseconds per request of what the request path calls on ProxyMetrics
 * (start, latency, finish with its upstream and bytes), counting on or off:
 * the difference is what counting costs, with no network in the way.
 */
function countingCostNs(count: boolean): number {
  const metrics = new ProxyMetrics({ count });
  const upstream = { id: 'u', host: '127.0.0.1', port: 1, releaseId: 'release' };
  const route = { app: 'bench', env: 'production', environmentId: 'environment', hostnames: [], upstreams: [upstream] };
  const run = (calls: number) => {
    for (let i = 0; i < calls; i++) {
      metrics.requestStarted();
      metrics.upstreamLatency(route, (i % 100) / 10_000, upstream);
      metrics.requestFinished(route, i % 50 === 0 ? 500 : 200, upstream, 120, 240);
    }
  };
  run(COUNTED_CALLS / 10); // warm-up: JIT
  const before = process.cpuUsage();
  run(COUNTED_CALLS);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / COUNTED_CALLS;
}

/**
 * Two undici proxies on the same upstream: one that counts nothing (a
 * ProxyMetrics with counting off) and one that counts every request per
 * environment and release and adds the counts to request_metrics every
 * second, as apps/proxy does (a private database cloned from the test
 * template: PIER_TEST_DATABASE_URL). Measured in interleaved rounds; prints
 * both, the ratio, and how many requests Postgres holds against how many the
 * proxy answered.
 */
export async function measureMetricsCost(upstreamPort: number, settings: Settings): Promise<void> {
  await setupTemplateDatabase();
  const database = await createTestDatabase();
  try {
    const stores = createStores(database.db, new SecretBox(randomBytes(32)));
    const app = await stores.apps.create({ name: 'bench', webhookSecret: 'x'.repeat(40) });
    const environment = await stores.environments.get(app.id, 'production');
    const release = await stores.releases.create({
      environmentId: environment.id,
      imageId: 'sha256:bench',
      imageRef: 'pier/bench:1',
      config: {},
      configVersion: 0,
      replicas: 1,
      health: { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
    });
    const flushed: MetricsMode = {
      kind: 'flushed',
      databaseUrl: database.url,
      environmentId: environment.id,
      releaseId: release.id,
      flushMs: FLUSH_MS,
    };
    const off = await startMetricsProxy(upstreamPort, JSON.stringify({ kind: 'off' } satisfies MetricsMode));
    const on = await startMetricsProxy(upstreamPort, JSON.stringify(flushed));
    let results: Awaited<ReturnType<typeof measureRounds>>;
    try {
      results = await measureRounds(
        [
          { name: 'metrics off', port: off.port, pid: off.child.pid ?? 0 },
          { name: 'metrics on', port: on.port, pid: on.child.pid ?? 0 },
        ],
        settings,
      );
    } finally {
      await Promise.all([stopChild(off.child), stopChild(on.child)]);
    }
    const [without, withMetrics] = results.map(({ result }) => result) as [LoadResult, LoadResult];
    const [stored] = await database.sql<{ requests: string; rows: string }[]>`
      select coalesce(sum(status_1xx + status_2xx + status_3xx + status_4xx + status_5xx), 0) as requests, count(*) as rows
      from request_metrics`;
    process.stdout.write(
      `\nmetrics collection (undici; counting per environment and release, flushed to Postgres every ${FLUSH_MS} ms):\n` +
        `  metrics off   ${fmt(without.rps, 0).padStart(8)} req/s   p99 ${fmt(without.p99ms)} ms   CPU ${fmt(without.cpuUsPerRequest ?? Number.NaN, 0)} µs/req\n` +
        `  metrics on    ${fmt(withMetrics.rps, 0).padStart(8)} req/s   p99 ${fmt(withMetrics.p99ms)} ms   CPU ${fmt(withMetrics.cpuUsPerRequest ?? Number.NaN, 0)} µs/req\n` +
        `  on / off      throughput ${fmt((withMetrics.rps / without.rps) * 100, 1)} %   CPU/req ${fmt(((withMetrics.cpuUsPerRequest ?? 0) / (without.cpuUsPerRequest ?? 1)) * 100, 1)} %   (target: throughput ≥ 97 %)\n` +
        `  request_metrics holds ${stored?.requests ?? 0} requests in ${stored?.rows ?? 0} rows ` +
        `(measured runs of "metrics on": ${withMetrics.requests}, warm-ups besides)\n`,
    );
    // Under contention the two proxies' figures move by more than what counting costs: measure it alone too.
    const countingNs = countingCostNs(true) - countingCostNs(false);
    const proxyNs = (without.cpuUsPerRequest ?? Number.NaN) * 1000;
    process.stdout.write(
      `  counting alone (in process, ${COUNTED_CALLS.toLocaleString('en')} requests): ${fmt(countingNs, 0)} ns CPU per request, ` +
        `${fmt((countingNs / proxyNs) * 100, 3)} % of the proxy's CPU per request\n`,
    );
  } finally {
    await database.destroy();
  }
}
