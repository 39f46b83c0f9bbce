import {
  assertAdmin,
  type HostBucket,
  histogramQuantile,
  mergeRequestBuckets,
  parseMetricsRange,
  type ReplicaBucket,
  type RequestBucket,
  type RestartBucket,
} from '@pier/core';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { envParams } from '../schemas.ts';
import { renderPrometheus } from './prometheus-text.ts';

const rangeQuery = z.strictObject({
  since: z.string().max(64).optional().describe('ISO 8601 time, or a duration ago: 90s, 15m, 1h (default), 24h, 7d'),
  until: z.string().max(64).optional().describe('ISO 8601 time, or a duration ago (default: now)'),
  step: z
    .string()
    .max(8)
    .optional()
    .describe('seconds per bucket, 60-86400 (default: about 120 buckets); rounded up to whole hours beyond the last 7 days'),
});

const latency = z.number().nullable();
const requestPoint = z.object({
  at: z.string(),
  requests: z.number(),
  perSecond: z.number(),
  byClass: z.record(z.string(), z.number()).describe('requests by status class: 1xx … 5xx'),
  errorRate: z.number().nullable().describe('share of 5xx among the requests, 0-1 (null: no requests)'),
  latency: z
    .object({ p50: latency, p95: latency, p99: latency })
    .describe('seconds until the response headers, interpolated inside the histogram buckets (null: no answered requests)'),
  bytesIn: z.number(),
  bytesOut: z.number(),
});
const replicaPoint = z.object({
  at: z.string(),
  cpuCores: z.number().describe('CPU used on average over the bucket, in cores'),
  memoryBytes: z.number().describe('memory in use at the last sample (without page cache)'),
  memoryMaxBytes: z.number(),
  memoryLimitBytes: z.number().nullable(),
  rxBytes: z.number(),
  txBytes: z.number(),
});
const environmentMetrics = z.object({
  since: z.string(),
  until: z.string(),
  step: z.number(),
  requests: z.array(requestPoint).describe('buckets with requests only'),
  processes: z.array(
    z.object({
      type: z.string(),
      replicas: z.array(z.object({ replica: z.string(), releaseId: z.string().nullable(), points: z.array(replicaPoint) })),
      restarts: z.array(z.object({ at: z.string(), restarts: z.number(), oomKills: z.number() })),
    }),
  ),
});
const hostPoint = z.object({
  at: z.string(),
  node: z.string(),
  cpuBusy: z.number().describe('share of all CPUs busy, 0-1'),
  cpus: z.number(),
  memoryTotalBytes: z.number(),
  memoryAvailableBytes: z.number(),
  load: z.object({ load1: z.number(), load5: z.number(), load15: z.number() }),
  disks: z.object({
    root: z.object({ totalBytes: z.number(), freeBytes: z.number() }),
    docker: z.object({ totalBytes: z.number(), freeBytes: z.number() }).nullable(),
  }),
});

/**
 * `GET …/environments/:env/metrics`, `GET /host/metrics` (admin) and the
 * Prometheus endpoint `GET /metrics` (admin): all from Postgres, which the
 * proxies and the worker's collector fill.
 */
export function metricRoutes(deps: ApiDeps) {
  const { apps, environments, metrics } = deps;
  return [
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/metrics',
      summary: "An environment's requests (rate, status classes, latency percentiles, bytes) and each replica's use",
      tag: 'metrics',
      params: envParams,
      query: rangeQuery,
      response: environmentMetrics,
      handler: async ({ params, query, principal }) => {
        const range = parseMetricsRange(query, new Date());
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        const found = await metrics.environment(env.id, range);
        return {
          ...presentRange(range),
          requests: presentRequests(found.requests, range.step),
          processes: presentProcesses(found.replicas, found.restarts, range.step),
        };
      },
    }),
    route({
      method: 'GET',
      url: '/host/metrics',
      summary: "The host's CPU, memory, load and disks (admin)",
      tag: 'metrics',
      query: rangeQuery,
      response: z.object({ since: z.string(), until: z.string(), step: z.number(), points: z.array(hostPoint) }),
      handler: async ({ query, principal }) => {
        assertAdmin(principal, "read the host's metrics");
        const range = parseMetricsRange(query, new Date());
        return { ...presentRange(range), points: (await metrics.host(range)).map(presentHost) };
      },
    }),
    route({
      method: 'GET',
      url: '/metrics',
      summary: 'Every app and environment, and the host, in Prometheus text format (admin; Authorization: Bearer)',
      tag: 'metrics',
      handler: async ({ principal, reply }) => {
        assertAdmin(principal, 'read metrics for Prometheus');
        reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
        reply.header('cache-control', 'no-store');
        return renderPrometheus(await metrics.totals());
      },
    }),
  ];
}

function presentRange(range: { since: Date; until: Date; step: number }) {
  return { since: range.since.toISOString(), until: range.until.toISOString(), step: range.step };
}

/** Every release's requests together, per bucket. */
function presentRequests(buckets: readonly RequestBucket[], step: number) {
  const merged = mergeRequestBuckets(
    buckets.map((b) => ({ ...b, releaseId: null })),
    step,
  );
  return merged.map((b) => {
    const requests = b.byClass.reduce((sum, n) => sum + n, 0);
    return {
      at: b.at.toISOString(),
      requests,
      perSecond: requests / step,
      byClass: Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`${i}xx`, b.byClass[i] ?? 0])),
      errorRate: requests > 0 ? (b.byClass[5] ?? 0) / requests : null,
      latency: {
        p50: histogramQuantile(b.latencyBuckets, 0.5),
        p95: histogramQuantile(b.latencyBuckets, 0.95),
        p99: histogramQuantile(b.latencyBuckets, 0.99),
      },
      bytesIn: b.bytesIn,
      bytesOut: b.bytesOut,
    };
  });
}

function presentProcesses(replicas: readonly ReplicaBucket[], restarts: readonly RestartBucket[], step: number) {
  const types = [...new Set([...replicas.map((r) => r.processType), ...restarts.map((r) => r.processType)])].sort();
  return types.map((type) => {
    const ofType = replicas.filter((r) => r.processType === type);
    const names = [...new Set(ofType.map((r) => r.replica))];
    return {
      type,
      replicas: names.map((replica) => {
        const points = ofType.filter((r) => r.replica === replica);
        return {
          replica,
          releaseId: points.at(-1)?.releaseId ?? null,
          points: points.map((p) => ({
            at: p.at.toISOString(),
            cpuCores: p.cpuSeconds / step,
            memoryBytes: p.memoryBytes,
            memoryMaxBytes: p.memoryMaxBytes,
            memoryLimitBytes: p.memoryLimitBytes,
            rxBytes: p.rxBytes,
            txBytes: p.txBytes,
          })),
        };
      }),
      restarts: sumRestarts(restarts.filter((r) => r.processType === type)),
    };
  });
}

/** Restarts of every release of a type together, per bucket. */
function sumRestarts(rows: readonly RestartBucket[]) {
  const byTime = new Map<number, { at: string; restarts: number; oomKills: number }>();
  for (const r of rows) {
    const point = byTime.get(r.at.getTime()) ?? { at: r.at.toISOString(), restarts: 0, oomKills: 0 };
    point.restarts += r.restarts;
    point.oomKills += r.oomKills;
    byTime.set(r.at.getTime(), point);
  }
  return [...byTime.values()];
}

function presentHost(h: HostBucket) {
  return {
    at: h.at.toISOString(),
    node: h.node,
    cpuBusy: h.cpuBusy,
    cpus: h.cpus,
    memoryTotalBytes: h.memoryTotalBytes,
    memoryAvailableBytes: h.memoryAvailableBytes,
    load: { load1: h.load1, load5: h.load5, load15: h.load15 },
    disks: {
      root: { totalBytes: h.rootTotalBytes, freeBytes: h.rootFreeBytes },
      docker:
        h.dockerTotalBytes !== null && h.dockerFreeBytes !== null
          ? { totalBytes: h.dockerTotalBytes, freeBytes: h.dockerFreeBytes }
          : null,
    },
  };
}
