import { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, sql } from 'drizzle-orm';
import { LOGS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import type { LogLineRow } from '../schema/observability.ts';
import { environments, logCursors, logDrains, logLines, logUsage } from '../schema.ts';
import { sqlState } from './pg-errors.ts';

/** One line to store, as the collector read it. */
export interface NewLogLine {
  environmentId: string;
  /** When the container wrote it (the engine's timestamp). */
  at: Date;
  /** `replica`, `release`, `run` or `cron`. */
  source: string;
  processType: string;
  /** The container's name. */
  replica: string;
  /** The release it ran (its version is looked up when stored); null when unknown. */
  releaseId: string | null;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** How far a container's output was read: stored with the lines, in the same transaction. */
export interface LogCursor {
  containerId: string;
  environmentId: string;
  /** The engine's timestamp (RFC 3339 with nanoseconds) of the last line stored. */
  since: string | null;
  /** The container stopped and its output was read to its end. */
  finished?: boolean;
}

export interface LogQuery {
  environmentId: string;
  /** Only lines with a larger id (paging forward, resuming a stream). */
  after?: number;
  /** Only lines with a smaller id (paging back; a follower's scan up to the newest id it saw). */
  beforeId?: number;
  since?: Date;
  until?: Date;
  /** Case-insensitive substring (matched literally: `%`, `_` and `\` are escaped). */
  text?: string;
  processType?: string;
  replica?: string;
  limit: number;
  /** `asc`: the oldest first (after `after`); `desc`: the newest `limit` lines, still returned oldest first. */
  order: 'asc' | 'desc';
}

export interface RetentionPolicy {
  /** Lines older than this go (per environment: `log_usage.retention_days` when set). */
  maxAgeDays: number;
  /** Then the oldest lines of an environment above this many bytes go (per environment: `retention_mb`). */
  maxBytes: number;
}

export interface RetentionResult {
  byAge: number;
  bySize: number;
}

/** Rows a retention statement deletes at once, so no transaction holds locks on a whole environment's lines. */
const DELETE_BATCH = 5000;

/**
 * Logs that outlive their containers: the lines of every app container,
 * appended in batches by the one log collector, read by the API and drains
 * in id order. `log_usage` keeps each environment's bytes and lines with
 * every batch and every deletion, so retention by size needs no scan to know
 * who is over. Each batch NOTIFYs `pier_logs` with the environment ids it
 * touched (for a listener; the api's followers poll the table every 250 ms).
 */
export class LogStore {
  constructor(private readonly db: Db) {}

  /**
   * Stores `lines` with one insert (a JSON array unpacked by Postgres: one
   * parameter however large the batch), adds them to `log_usage`, saves the
   * collector's `cursors`, and NOTIFYs, all in one transaction: a cursor
   * never runs ahead of the lines it covers. NUL characters, which Postgres's
   * text cannot hold, are dropped. Ids follow the order of `lines`. Lines
   * and cursors of an environment deleted meanwhile are left out, so they
   * never fail the rest of the batch.
   */
  async append(lines: readonly NewLogLine[], cursors: readonly LogCursor[] = []): Promise<void> {
    if (lines.length === 0 && cursors.length === 0) return;
    const rows = lines.map((l) => ({
      e: l.environmentId,
      a: l.at.toISOString(),
      s: l.source,
      p: l.processType,
      r: l.replica,
      rel: l.releaseId,
      st: l.stream,
      l: l.line.includes('\0') ? l.line.replaceAll('\0', '') : l.line,
    }));
    await this.db.transaction(async (tx) => {
      if (rows.length > 0) await tx.execute(appendStatement(JSON.stringify(rows)));
      for (const cursor of cursors) {
        const finishedAt = cursor.finished ? sql`now()` : null;
        // Only while the environment exists: a deleted one's containers are still read until the reconciler stops them.
        await tx.execute(sql`
          insert into ${logCursors} (container_id, environment_id, since, finished_at)
          select ${cursor.containerId}::text, e.id, ${cursor.since}::text, (${finishedAt})::timestamptz from ${environments} e where e.id = ${cursor.environmentId}
          on conflict (container_id) do update
            set since = coalesce(excluded.since, ${logCursors}.since), finished_at = excluded.finished_at, updated_at = now()`);
      }
    });
  }

  /** Lines matching `query`, oldest first. */
  async read(query: LogQuery): Promise<LogLineRow[]> {
    const conditions = [eq(logLines.environmentId, query.environmentId)];
    if (query.after !== undefined) conditions.push(gt(logLines.id, query.after));
    if (query.beforeId !== undefined) conditions.push(lt(logLines.id, query.beforeId));
    if (query.since) conditions.push(gte(logLines.at, query.since));
    if (query.until) conditions.push(lte(logLines.at, query.until));
    if (query.processType) conditions.push(eq(logLines.processType, query.processType));
    if (query.replica) conditions.push(eq(logLines.replica, query.replica));
    if (query.text) conditions.push(sql`${logLines.line} ilike ${`%${escapeLike(query.text)}%`} escape '\\'`);
    const rows = await this.db
      .select()
      .from(logLines)
      .where(and(...conditions))
      .orderBy(query.order === 'asc' ? asc(logLines.id) : desc(logLines.id))
      .limit(query.limit);
    return query.order === 'asc' ? rows : rows.reverse();
  }

  /** The largest id of an environment's lines (0: none), from the (environment, id) index. */
  async maxId(environmentId: string): Promise<number> {
    const [row] = await this.db
      .select({ id: sql<string | null>`max(${logLines.id})` })
      .from(logLines)
      .where(eq(logLines.environmentId, environmentId));
    return Number(row?.id ?? 0);
  }

  /** The collector's cursors of containers not yet read to their end. */
  async openCursors(): Promise<Map<string, LogCursor>> {
    const rows = await this.db.select().from(logCursors).where(isNull(logCursors.finishedAt));
    return new Map(
      rows.map((r) => [r.containerId, { containerId: r.containerId, environmentId: r.environmentId, since: r.since }]),
    );
  }

  /** Containers whose output was read to the end (the collector does not follow them again). */
  async finishedContainers(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ containerId: logCursors.containerId })
      .from(logCursors)
      .where(and(isNotNull(logCursors.finishedAt), inArray(logCursors.containerId, [...ids])));
    return new Set(rows.map((r) => r.containerId));
  }

  /** Forgets cursors of containers finished more than `days` ago (their containers are long gone). */
  async pruneCursors(days: number): Promise<number> {
    const rows = await this.db.execute(
      sql`delete from ${logCursors} where finished_at < now() - make_interval(days => ${days}) returning 1`,
    );
    return (rows as unknown[]).length;
  }

  /** An environment's retention overrides (null: the installation's defaults). */
  async setRetention(environmentId: string, days: number | null, mb: number | null): Promise<void> {
    await this.db
      .insert(logUsage)
      .values({ environmentId, retentionDays: days, retentionMb: mb })
      .onConflictDoUpdate({
        target: logUsage.environmentId,
        set: { retentionDays: days, retentionMb: mb, updatedAt: sql`now()` },
      });
  }

  /** What an environment's logs hold and its retention overrides. */
  async usage(environmentId: string) {
    const [row] = await this.db.select().from(logUsage).where(eq(logUsage.environmentId, environmentId));
    return row ?? { environmentId, bytes: 0, lines: 0, retentionDays: null, retentionMb: null };
  }

  /**
   * Deletes lines older than each environment's age limit, then, for each
   * environment still above its size cap, its oldest lines in id order until
   * it is under the cap; `log_usage` goes down by what was deleted.
   */
  async retain(policy: RetentionPolicy): Promise<RetentionResult> {
    const usage = await this.db.select().from(logUsage);
    let byAge = 0;
    let bySize = 0;
    for (const env of usage) {
      const days = env.retentionDays ?? policy.maxAgeDays;
      for (;;) {
        const deleted = await this.deleteBatch(
          env.environmentId,
          sql`select id from ${logLines} where environment_id = ${env.environmentId}
                and at < now() - make_interval(days => ${days}) order by id limit ${DELETE_BATCH}`,
        );
        byAge += deleted;
        if (deleted < DELETE_BATCH) break;
      }
      const cap = env.retentionMb !== null ? env.retentionMb * 1024 * 1024 : policy.maxBytes;
      for (;;) {
        const { bytes } = await this.usage(env.environmentId);
        if (bytes <= cap) break;
        // The oldest lines whose bytes, added up in id order, bring the environment under its cap (one batch at most).
        const deleted = await this.deleteBatch(
          env.environmentId,
          sql`select id from (
                select id, sum(octet_length(line)) over (order by id) - octet_length(line) as before
                from (select id, line from ${logLines} where environment_id = ${env.environmentId} order by id limit ${DELETE_BATCH}) oldest
              ) running where before < ${bytes - cap}`,
        );
        bySize += deleted;
        if (deleted === 0) break;
      }
    }
    return { byAge, bySize };
  }

  /**
   * Deletes the lines `ids` selects and takes them off the environment's
   * usage, in one statement; a log drain of the app that had not sent them
   * yet counts them as dropped.
   */
  private async deleteBatch(environmentId: string, ids: ReturnType<typeof sql>): Promise<number> {
    const rows = await this.db.execute<{ n: number }>(sql`
      with gone as (
        delete from ${logLines} where id in (${ids}) returning id, octet_length(line) as b
      ), total as (select count(*)::bigint as n, coalesce(sum(b), 0)::bigint as b from gone),
      unsent as (
        update ${logDrains} d set dropped = d.dropped + x.n
        from (
          select dr.id, count(*)::bigint as n
          from ${logDrains} dr
          join ${environments} e on e.app_id = dr.app_id and e.id = ${environmentId}
          join gone g on g.id > dr.cursor
          group by dr.id
        ) x
        where d.id = x.id
        returning 1
      )
      update ${logUsage} set bytes = greatest(0, bytes - total.b), lines = greatest(0, lines - total.n), updated_at = now()
      from total where environment_id = ${environmentId}
      returning total.n::int as n`);
    return Number((rows as unknown as { n: number }[])[0]?.n ?? 0);
  }
}

/**
 * One statement: unpack the batch, insert it in its order (the release's
 * version looked up), add each environment's bytes and lines to `log_usage`,
 * and NOTIFY once per environment.
 */
function appendStatement(json: string) {
  return sql`
    with batch as (
      select * from rows from (
        json_to_recordset(${json}::json) as (e uuid, a timestamptz, s text, p text, r text, rel uuid, st text, l text)
      ) with ordinality as b(e, a, s, p, r, rel, st, l, n)
    ), inserted as (
      insert into ${logLines} (environment_id, at, source, process_type, replica, release_id, release_version, stream, line)
      select b.e, b.a, b.s, b.p, b.r, b.rel, (select version from releases where id = b.rel), b.st::log_stream, b.l
      from batch b join ${environments} env on env.id = b.e order by b.n
      returning environment_id, octet_length(line) as bytes
    ), usage as (
      insert into ${logUsage} (environment_id, bytes, lines)
      select environment_id, sum(bytes), count(*) from inserted group by environment_id
      on conflict (environment_id) do update
        set bytes = log_usage.bytes + excluded.bytes, lines = log_usage.lines + excluded.lines, updated_at = now()
      returning environment_id
    )
    select pg_notify(${LOGS_CHANNEL}, environment_id::text) from usage`;
}

/**
 * The SQLSTATE of an append Postgres refused for what the batch holds (class
 * 22, data exception, or 23, integrity violation), else undefined: trying the
 * same batch again fails the same way, unlike a connection lost.
 */
export function rejectedBatchState(err: unknown): string | undefined {
  const state = sqlState(err);
  return state?.startsWith('22') || state?.startsWith('23') ? state : undefined;
}

/** `text` for ILIKE: its own `%`, `_` and `\` match themselves. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
