import type { HostBucket } from '@pier/core';
import { sql } from 'drizzle-orm';
import type { Db } from '../client.ts';

/** An environment's request totals over what is kept. */
export interface RequestTotals {
  app: string;
  env: string;
  /** Index 1 = 1xx … 5 = 5xx. */
  byClass: number[];
  bytesIn: number;
  bytesOut: number;
  latencyBuckets: number[];
  latencySum: number;
}

/** A replica seen lately: CPU and network totals over what is kept, memory at its last sample. */
export interface ReplicaTotals {
  app: string;
  env: string;
  replica: string;
  processType: string;
  cpuSeconds: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  rxBytes: number;
  txBytes: number;
}

export interface RestartTotals {
  app: string;
  env: string;
  processType: string;
  restarts: number;
  oomKills: number;
}

/** The host's latest sample: a bucket without its time and count. */
export type HostLatest = Omit<HostBucket, 'at' | 'samples'>;

export interface MetricTotals {
  requests: RequestTotals[];
  replicas: ReplicaTotals[];
  restarts: RestartTotals[];
  host: HostLatest[];
}

/** Replicas and hosts whose last sample is older than this are gone: no gauge for them. */
const REPLICA_FRESH_MINUTES = 10;

/**
 * What the api's Prometheus endpoint shows, from Postgres alone: counters
 * summed over every row kept (minutes, hours and the archive row that hours
 * past retention are folded into, so a counter never falls), gauges from the
 * latest sample of the last 10 minutes. Summed in SQL,
 * so a scrape answers a few rows per environment.
 */
export async function metricTotals(db: Db): Promise<MetricTotals> {
  const [requests, histograms, replicas, restarts, host] = await Promise.all([
    db.execute<Record<string, string | number>>(sql`
      select a.name as app, e.name as env, sum(status_1xx)::float8 as s1, sum(status_2xx)::float8 as s2,
             sum(status_3xx)::float8 as s3, sum(status_4xx)::float8 as s4, sum(status_5xx)::float8 as s5,
             sum(bytes_in)::float8 as bytes_in, sum(bytes_out)::float8 as bytes_out, sum(latency_sum)::float8 as latency_sum
      from request_metrics r join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
      group by a.name, e.name order by a.name, e.name`),
    db.execute<{ app: string; env: string; i: number; n: number }>(sql`
      select a.name as app, e.name as env, u.i::int as i, sum(u.n)::float8 as n
      from request_metrics r join environments e on e.id = r.environment_id join apps a on a.id = e.app_id,
           unnest(r.latency_buckets) with ordinality as u(n, i)
      group by a.name, e.name, u.i`),
    db.execute<Record<string, string | number | null>>(sql`
      select a.name as app, e.name as env, r.replica, (array_agg(r.process_type order by r.at desc))[1] as process_type,
             sum(r.cpu_seconds)::float8 as cpu_seconds, sum(r.rx_bytes)::float8 as rx_bytes, sum(r.tx_bytes)::float8 as tx_bytes,
             (array_agg(r.memory_bytes order by r.at desc) filter (where r.at >= now() - make_interval(mins => ${REPLICA_FRESH_MINUTES})))[1]::float8
               as memory_bytes,
             (array_agg(r.memory_limit_bytes order by r.at desc) filter (where r.at >= now() - make_interval(mins => ${REPLICA_FRESH_MINUTES})))[1]::float8
               as memory_limit_bytes
      from replica_metrics r join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
      group by a.name, e.name, r.replica
      having max(r.at) >= now() - make_interval(mins => ${REPLICA_FRESH_MINUTES})
      order by a.name, e.name, r.replica`),
    db.execute<Record<string, string | number>>(sql`
      select a.name as app, e.name as env, r.process_type, sum(restarts)::float8 as restarts, sum(oom_kills)::float8 as oom_kills
      from restart_metrics r join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
      group by a.name, e.name, r.process_type order by a.name, e.name, r.process_type`),
    db.execute<Record<string, string | number | null>>(sql`
      select distinct on (node) * from host_metrics
      where at >= now() - make_interval(mins => ${REPLICA_FRESH_MINUTES}) order by node, at desc`),
  ]);
  const histogramOf = (app: string, env: string): number[] => {
    const counts: number[] = [];
    for (const h of histograms) if (h.app === app && h.env === env) counts[h.i - 1] = Number(h.n);
    return Array.from(counts, (n) => n ?? 0);
  };
  return {
    requests: requests.map((r) => ({
      app: String(r.app),
      env: String(r.env),
      byClass: [0, Number(r.s1), Number(r.s2), Number(r.s3), Number(r.s4), Number(r.s5)],
      bytesIn: Number(r.bytes_in),
      bytesOut: Number(r.bytes_out),
      latencyBuckets: histogramOf(String(r.app), String(r.env)),
      latencySum: Number(r.latency_sum),
    })),
    replicas: replicas.map((r) => ({
      app: String(r.app),
      env: String(r.env),
      replica: String(r.replica),
      processType: String(r.process_type),
      cpuSeconds: Number(r.cpu_seconds),
      memoryBytes: Number(r.memory_bytes),
      memoryLimitBytes: r.memory_limit_bytes === null ? null : Number(r.memory_limit_bytes),
      rxBytes: Number(r.rx_bytes),
      txBytes: Number(r.tx_bytes),
    })),
    restarts: restarts.map((r) => ({
      app: String(r.app),
      env: String(r.env),
      processType: String(r.process_type),
      restarts: Number(r.restarts),
      oomKills: Number(r.oom_kills),
    })),
    host: host.map((h) => ({
      node: String(h.node),
      cpuBusy: Number(h.cpu_busy),
      cpus: Number(h.cpus),
      memoryTotalBytes: Number(h.memory_total_bytes),
      memoryAvailableBytes: Number(h.memory_available_bytes),
      load1: Number(h.load1),
      load5: Number(h.load5),
      load15: Number(h.load15),
      rootTotalBytes: Number(h.root_total_bytes),
      rootFreeBytes: Number(h.root_free_bytes),
      dockerTotalBytes: h.docker_total_bytes === null ? null : Number(h.docker_total_bytes),
      dockerFreeBytes: h.docker_free_bytes === null ? null : Number(h.docker_free_bytes),
    })),
  };
}
