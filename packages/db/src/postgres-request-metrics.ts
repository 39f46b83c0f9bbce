import type { RequestBucket, RequestMetricsSink } from '@pier/core';
import type postgres from 'postgres';
import { ADD_TO_REQUEST_METRICS } from './request-metrics-sql.ts';

/**
 * RequestMetricsSink over Postgres: one `insert … on conflict
 * (request_metrics_bucket) do update` statement adds every bucket to the row
 * of the same environment, release, step and minute, counters summed and the
 * latency histogram added element by element, so several proxies (and a
 * flush retried after a failure) add up instead of overwriting each other.
 * It needs only the proxy role's insert, update and select on request_metrics
 * (proxy-role.ts). Buckets of an environment deleted since they were counted
 * are dropped (its rows went with it), so they never hold the others back.
 */
const FOREIGN_KEY_VIOLATION = '23503';

export class PostgresRequestMetrics implements RequestMetricsSink {
  constructor(private readonly sql: postgres.Sql) {}

  async add(buckets: readonly RequestBucket[], step: number): Promise<void> {
    try {
      await this.#insert(buckets, step);
    } catch (error) {
      if ((error as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw error;
      const ids = [...new Set(buckets.map((b) => b.environmentId))];
      const existing = await this.sql<{ id: string }[]>`select id from environments where id = any(${ids}::uuid[])`;
      const kept = new Set(existing.map((e) => e.id));
      await this.#insert(
        buckets.filter((b) => kept.has(b.environmentId)),
        step,
      );
    }
  }

  async #insert(buckets: readonly RequestBucket[], step: number): Promise<void> {
    if (buckets.length === 0) return;
    const rows = buckets.map((b) => ({
      environment_id: b.environmentId,
      release_id: b.releaseId,
      step,
      // A string: drizzle, sharing this client, turns postgres.js's Date serializer off.
      at: b.at.toISOString(),
      status_1xx: b.byClass[1] ?? 0,
      status_2xx: b.byClass[2] ?? 0,
      status_3xx: b.byClass[3] ?? 0,
      status_4xx: b.byClass[4] ?? 0,
      status_5xx: b.byClass[5] ?? 0,
      bytes_in: b.bytesIn,
      bytes_out: b.bytesOut,
      // A Postgres array literal: postgres.js would otherwise guess the element type from the first value.
      latency_buckets: `{${b.latencyBuckets.map((n) => Math.trunc(n)).join(',')}}`,
      latency_sum: b.latencySum,
    }));
    const sql = this.sql;
    await sql`
      insert into request_metrics ${sql(rows)}
      on conflict on constraint request_metrics_bucket do update set ${sql.unsafe(ADD_TO_REQUEST_METRICS)}`;
  }
}
