import { COARSE_STEP, FINE_STEP } from '@pier/core';
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { ADD_TO_REQUEST_METRICS } from '../request-metrics-sql.ts';

/**
 * The step of an archive row: what expired hours counted, one row per
 * environment and release (requests), replica, or process type and release
 * (restarts), at the epoch. Prometheus totals add it, so a counter never
 * falls when hours expire; range reads leave it out (`step <> 0`).
 */
export const ARCHIVE_STEP = 0;
const ARCHIVE_AT = '1970-01-01T00:00:00Z';

/** Which rows a fold moves (`where` on the table), and the bucket they are merged into. */
interface Fold {
  source: SQL;
  step: number;
  at: string;
}

const hourOf = (hour: string): Fold => ({
  source: sql`step = ${FINE_STEP} and at >= ${hour}::timestamptz and at < ${hour}::timestamptz + interval '1 hour'`,
  step: COARSE_STEP,
  at: hour,
});

/**
 * Each table's fold: one statement that deletes the source rows and adds
 * them, merged, to the target bucket's row (so a bucket is never stored at
 * two steps, and an hour rolled up twice, or a late minute, adds up). An
 * hour's roll-up folds its minutes; expiry folds hours past retention into
 * the archive row. Counters and CPU are summed, histograms element by
 * element, memory's maximum the highest, gauges the latest row's; the host's
 * CPU busy is averaged over its samples.
 */
const FOLDS: Record<string, (fold: Fold) => SQL> = {
  request_metrics: ({ source, step, at }) => sql`
    with moved as (
      delete from request_metrics where ${source} returning *
    ), counts as (
      select environment_id, release_id, i, sum(n) as n
      from moved, unnest(latency_buckets) with ordinality as u(n, i)
      group by environment_id, release_id, i
    ), histograms as (
      select environment_id, release_id, array_agg(n order by i) as latency_buckets
      from counts group by environment_id, release_id
    )
    insert into request_metrics (environment_id, release_id, step, at, status_1xx, status_2xx, status_3xx, status_4xx,
                                 status_5xx, bytes_in, bytes_out, latency_buckets, latency_sum)
    select m.environment_id, m.release_id, ${step}, ${at}::timestamptz, sum(status_1xx), sum(status_2xx),
           sum(status_3xx), sum(status_4xx), sum(status_5xx), sum(bytes_in), sum(bytes_out),
           coalesce(h.latency_buckets, '{}'), sum(latency_sum)
    from moved m
    left join histograms h on h.environment_id = m.environment_id and h.release_id is not distinct from m.release_id
    group by m.environment_id, m.release_id, h.latency_buckets
    on conflict on constraint request_metrics_bucket do update set ${sql.raw(ADD_TO_REQUEST_METRICS)}`,
  replica_metrics: ({ source, step, at }) => sql`
    with moved as (
      delete from replica_metrics where ${source} returning *
    )
    insert into replica_metrics (environment_id, replica, process_type, release_id, step, at, cpu_seconds, memory_bytes,
                                 memory_max_bytes, memory_limit_bytes, rx_bytes, tx_bytes, samples)
    select environment_id, replica, (array_agg(process_type order by at desc))[1], (array_agg(release_id order by at desc))[1],
           ${step}, ${at}::timestamptz, sum(cpu_seconds), (array_agg(memory_bytes order by at desc))[1],
           max(memory_max_bytes), (array_agg(memory_limit_bytes order by at desc))[1], sum(rx_bytes), sum(tx_bytes), sum(samples)
    from moved group by environment_id, replica
    on conflict (environment_id, replica, step, at) do update set
      cpu_seconds = replica_metrics.cpu_seconds + excluded.cpu_seconds,
      memory_bytes = excluded.memory_bytes,
      memory_max_bytes = greatest(replica_metrics.memory_max_bytes, excluded.memory_max_bytes),
      memory_limit_bytes = excluded.memory_limit_bytes,
      rx_bytes = replica_metrics.rx_bytes + excluded.rx_bytes,
      tx_bytes = replica_metrics.tx_bytes + excluded.tx_bytes,
      samples = replica_metrics.samples + excluded.samples`,
  restart_metrics: ({ source, step, at }) => sql`
    with moved as (
      delete from restart_metrics where ${source} returning *
    )
    insert into restart_metrics (environment_id, process_type, release_id, step, at, restarts, oom_kills)
    select environment_id, process_type, release_id, ${step}, ${at}::timestamptz, sum(restarts), sum(oom_kills)
    from moved group by environment_id, process_type, release_id
    on conflict on constraint restart_metrics_bucket do update set
      restarts = restart_metrics.restarts + excluded.restarts,
      oom_kills = restart_metrics.oom_kills + excluded.oom_kills`,
  host_metrics: ({ source, step, at }) => sql`
    with moved as (
      delete from host_metrics where ${source} returning *
    ), latest as (
      select distinct on (node) * from moved order by node, at desc
    ), merged as (
      select node, sum(cpu_busy * samples) / greatest(sum(samples), 1) as cpu_busy, sum(samples) as samples
      from moved group by node
    )
    insert into host_metrics (node, step, at, cpu_busy, cpus, memory_total_bytes, memory_available_bytes, load1, load5,
                              load15, root_total_bytes, root_free_bytes, docker_total_bytes, docker_free_bytes, samples)
    select l.node, ${step}, ${at}::timestamptz, m.cpu_busy, l.cpus, l.memory_total_bytes, l.memory_available_bytes,
           l.load1, l.load5, l.load15, l.root_total_bytes, l.root_free_bytes, l.docker_total_bytes, l.docker_free_bytes, m.samples
    from latest l join merged m using (node)
    on conflict (node, step, at) do update set
      cpu_busy = (host_metrics.cpu_busy * host_metrics.samples + excluded.cpu_busy * excluded.samples)
                 / greatest(host_metrics.samples + excluded.samples, 1),
      samples = host_metrics.samples + excluded.samples`,
};

export interface RollupResult {
  /** Hours rolled up, over all tables. */
  hours: number;
  /** Hour rows older than the coarse retention, folded into the archive rows (the host's deleted). */
  expired: number;
}

/**
 * Rolls minute rows older than `fineBefore` up into hour rows, at most
 * `maxHours` hours per table per call (oldest first, so a long-stopped
 * worker catches up over several passes), then folds hour rows older than
 * `coarseBefore` into the archive rows (the host's, gauges only, are
 * deleted) and drops the archive rows of replicas with nothing else kept (no
 * longer running: Prometheus shows only replicas seen lately). Each hour of
 * each table, and each table's expiry, is one statement, so a pass that dies
 * leaves every bucket at exactly one step.
 */
export async function rollUpMetrics(
  db: Db,
  options: { fineBefore: Date; coarseBefore: Date; maxHours?: number },
): Promise<RollupResult> {
  const cutoff = new Date(Math.floor(options.fineBefore.getTime() / 3_600_000) * 3_600_000).toISOString();
  let hours = 0;
  for (const [table, fold] of Object.entries(FOLDS)) {
    for (let done = 0; done < (options.maxHours ?? 48); done++) {
      const [oldest] = await db.execute<{ hour: string | null }>(sql`
        select to_char(date_trunc('hour', min(at) at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:00:00"Z"') as hour
        from ${sql.identifier(table)} where step = ${FINE_STEP} and at < ${cutoff}::timestamptz`);
      if (!oldest?.hour) break;
      await db.execute(fold(hourOf(oldest.hour)));
      hours++;
    }
  }
  return { hours, expired: await expireHours(db, options.coarseBefore) };
}

async function expireHours(db: Db, before: Date): Promise<number> {
  const source = sql`step = ${COARSE_STEP} and at < ${before.toISOString()}::timestamptz`;
  let expired = 0;
  for (const [table, fold] of Object.entries(FOLDS)) {
    const [row] = await db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)} where ${source}`);
    if (!row?.n) continue;
    expired += row.n;
    if (table === 'host_metrics') await db.execute(sql`delete from host_metrics where ${source}`);
    else await db.execute(fold({ source, step: ARCHIVE_STEP, at: ARCHIVE_AT }));
  }
  await db.execute(sql`
    delete from replica_metrics a where a.step = ${ARCHIVE_STEP}
      and not exists (select 1 from replica_metrics r
                      where r.environment_id = a.environment_id and r.replica = a.replica and r.step <> ${ARCHIVE_STEP})`);
  return expired;
}
