import {
  bucketStart,
  FINE_STEP,
  type HostBucket,
  mergeHostBuckets,
  mergeReplicaBuckets,
  mergeRequestBuckets,
  mergeRestartBuckets,
  type ReplicaBucket,
  type RequestBucket,
  type RestartBucket,
} from '@pier/core';
import { and, asc, eq, gte, inArray, lt, ne, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../client.ts';
import { environments, hostMetrics, replicaMetrics, requestMetrics, restartMetrics } from '../schema.ts';
import { ARCHIVE_STEP, type RollupResult, rollUpMetrics } from './metric-rollup.ts';
import { type MetricTotals, metricTotals } from './metric-totals.ts';

/** One sample of a replica by the worker's collector: use since its previous sample, memory now. */
export interface ReplicaSample {
  environmentId: string;
  replica: string;
  processType: string;
  releaseId: string | null;
  /** CPU time used since the previous sample, seconds. */
  cpuSeconds: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  /** Bytes received and sent since the previous sample. */
  rxBytes: number;
  txBytes: number;
}

/** One sample of the host. */
export type HostSampleRow = Omit<HostBucket, 'at' | 'samples'>;

/** An environment's metrics over a range, merged into buckets of the step asked for. */
export interface EnvironmentMetrics {
  requests: RequestBucket[];
  replicas: ReplicaBucket[];
  restarts: RestartBucket[];
}

/**
 * Metrics per minute (then per hour): the worker's samples of replicas and
 * of the host (the proxies add requests through their own role:
 * PostgresRequestMetrics; restarts are counted with each crash:
 * EnvironmentHealthStore.backoff), reads for the api merged to any step, and
 * the hourly roll-up and retention (metric-rollup.ts). Every write adds to
 * the bucket of its minute, so several samples a minute (a short
 * PIER_METRICS_INTERVAL_MS) sum up instead of overwriting each other.
 */
export class MetricStore {
  constructor(readonly db: Db) {}

  /**
   * Adds samples taken `at` to their minute: CPU and bytes summed, memory the latest and the highest. Samples of
   * an environment deleted meanwhile (its containers not yet removed) are left out.
   */
  async addReplicaSamples(samples: readonly ReplicaSample[], at: Date): Promise<void> {
    if (samples.length === 0) return;
    const ids = [...new Set(samples.map((s) => s.environmentId))];
    const existing = new Set(
      (await this.db.select({ id: environments.id }).from(environments).where(inArray(environments.id, ids))).map((e) => e.id),
    );
    const kept = samples.filter((s) => existing.has(s.environmentId));
    if (kept.length === 0) return;
    const minute = bucketStart(at, FINE_STEP);
    await this.db
      .insert(replicaMetrics)
      .values(kept.map((s) => ({ ...s, step: FINE_STEP, at: minute, memoryMaxBytes: s.memoryBytes, samples: 1 })))
      .onConflictDoUpdate({
        target: [replicaMetrics.environmentId, replicaMetrics.replica, replicaMetrics.step, replicaMetrics.at],
        set: {
          cpuSeconds: sqlAdd('cpu_seconds'),
          memoryBytes: sqlExcluded('memory_bytes'),
          memoryMaxBytes: sqlRaw('greatest(replica_metrics.memory_max_bytes, excluded.memory_max_bytes)'),
          memoryLimitBytes: sqlExcluded('memory_limit_bytes'),
          rxBytes: sqlAdd('rx_bytes'),
          txBytes: sqlAdd('tx_bytes'),
          samples: sqlAdd('samples'),
          releaseId: sqlExcluded('release_id'),
          processType: sqlExcluded('process_type'),
        },
      });
  }

  /** Adds a host sample taken `at` to its minute: CPU busy averaged over the minute's samples, gauges the latest. */
  async addHostSample(sample: HostSampleRow, at: Date): Promise<void> {
    await this.db
      .insert(hostMetrics)
      .values({ ...sample, step: FINE_STEP, at: bucketStart(at, FINE_STEP), samples: 1 })
      .onConflictDoUpdate({
        target: [hostMetrics.node, hostMetrics.step, hostMetrics.at],
        set: {
          cpuBusy: sqlRaw('(host_metrics.cpu_busy * host_metrics.samples + excluded.cpu_busy) / (host_metrics.samples + 1)'),
          cpus: sqlExcluded('cpus'),
          memoryTotalBytes: sqlExcluded('memory_total_bytes'),
          memoryAvailableBytes: sqlExcluded('memory_available_bytes'),
          load1: sqlExcluded('load1'),
          load5: sqlExcluded('load5'),
          load15: sqlExcluded('load15'),
          rootTotalBytes: sqlExcluded('root_total_bytes'),
          rootFreeBytes: sqlExcluded('root_free_bytes'),
          dockerTotalBytes: sqlExcluded('docker_total_bytes'),
          dockerFreeBytes: sqlExcluded('docker_free_bytes'),
          samples: sqlRaw('host_metrics.samples + 1'),
        },
      });
  }

  /** An environment's requests, replicas and restarts with `since` ≤ at < `until`, merged into `step`-second buckets. */
  async environment(environmentId: string, range: { since: Date; until: Date; step: number }): Promise<EnvironmentMetrics> {
    const [requests, replicas, restarts] = await Promise.all([
      this.db
        .select()
        .from(requestMetrics)
        .where(and(eq(requestMetrics.environmentId, environmentId), inRange(requestMetrics, range)))
        .orderBy(asc(requestMetrics.at)),
      this.db
        .select()
        .from(replicaMetrics)
        .where(and(eq(replicaMetrics.environmentId, environmentId), inRange(replicaMetrics, range)))
        .orderBy(asc(replicaMetrics.at)),
      this.db
        .select()
        .from(restartMetrics)
        .where(and(eq(restartMetrics.environmentId, environmentId), inRange(restartMetrics, range)))
        .orderBy(asc(restartMetrics.at)),
    ]);
    return {
      requests: mergeRequestBuckets(requests.map(toRequestBucket), range.step),
      replicas: mergeReplicaBuckets(replicas, range.step),
      restarts: mergeRestartBuckets(restarts, range.step),
    };
  }

  /** The host's buckets with `since` ≤ at < `until`, merged into `step`-second buckets. */
  async host(range: { since: Date; until: Date; step: number }): Promise<HostBucket[]> {
    const rows = await this.db.select().from(hostMetrics).where(inRange(hostMetrics, range)).orderBy(asc(hostMetrics.at));
    return mergeHostBuckets(rows, range.step);
  }

  /** Totals and latest gauges per app and environment, and the host's, for Prometheus (metric-totals.ts). */
  totals(): Promise<MetricTotals> {
    return metricTotals(this.db);
  }

  /** Minutes older than `fineBefore` rolled up into hours; hours older than `coarseBefore` deleted (metric-rollup.ts). */
  rollUp(options: { fineBefore: Date; coarseBefore: Date; maxHours?: number }): Promise<RollupResult> {
    return rollUpMetrics(this.db, options);
  }
}

/** A stored request row as core's bucket (status columns as `byClass`). */
export function toRequestBucket(row: typeof requestMetrics.$inferSelect): RequestBucket {
  return {
    environmentId: row.environmentId,
    releaseId: row.releaseId,
    at: row.at,
    byClass: [0, row.status1xx, row.status2xx, row.status3xx, row.status4xx, row.status5xx],
    bytesIn: row.bytesIn,
    bytesOut: row.bytesOut,
    latencyBuckets: row.latencyBuckets.map(Number),
    latencySum: row.latencySum,
  };
}

/**
 * Both steps are read: a bucket is stored at one of them only (the roll-up
 * moves minutes into hours in one statement). The archive row (step 0) is
 * Prometheus' alone.
 */
function inRange(table: { at: PgColumn; step: PgColumn }, range: { since: Date; until: Date }) {
  return and(ne(table.step, ARCHIVE_STEP), gte(table.at, range.since), lt(table.at, range.until));
}

function sqlRaw(expression: string): SQL {
  return sql.raw(expression);
}

/** `table.column + excluded.column` in an upsert of replica_metrics. */
function sqlAdd(column: string): SQL {
  return sql.raw(`replica_metrics.${column} + excluded.${column}`);
}

function sqlExcluded(column: string): SQL {
  return sql.raw(`excluded.${column}`);
}
