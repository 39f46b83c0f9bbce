import { ConflictError, NotFoundError } from '@pier/core';
import { and, asc, desc, eq, getTableColumns, gt, inArray, lt, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { RUNS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { apps, environmentProcesses, environments, runLogLines, runs } from '../schema.ts';
import type { LogLine } from './deployment-store.ts';
import { recordCronFailures } from './run-event-log.ts';

export type RunRow = typeof runs.$inferSelect;
/** A string (run by `/bin/sh -c`) or an argument list (run as it is, after the image's entrypoint). */
export type RunCommand = string | string[];
export type RunEnd = { state: 'succeeded' | 'failed' | 'cancelled'; exitCode?: number | null; reason?: string | null };

export interface NewRun {
  appId: string;
  environmentId: string;
  /** Null: the environment's live release when the run starts. */
  releaseId?: string | null;
  kind: 'run' | 'cron';
  cronName?: string | null;
  command: RunCommand;
  timeoutSeconds: number;
  memoryMb?: number | null;
  cpus?: number | null;
  startedBy: string;
}

export interface CronSlot {
  appId: string;
  environmentId: string;
  cronName: string;
  slot: Date;
  command: RunCommand;
  timeoutSeconds: number;
  /** `forbid`: the slot is recorded as skipped while a run of the job is queued or running. */
  concurrency: 'forbid' | 'allow';
}

/** Where a run goes: its app's and environment's names. */
export interface RunTarget {
  environmentId: string;
  appName: string;
  name: string;
  liveReleaseId: string | null;
}

const ACTIVE = ['queued', 'running'];

/**
 * A jsonb column that may hold a bare JSON string, read as text and parsed
 * once: drizzle parses postgres.js's already parsed value again, so a string
 * command such as `"true"` or `"42"` would come back as a boolean or a number.
 */
export function jsonText(column: AnyPgColumn) {
  return sql<unknown>`${column}::text`.mapWith((text: string) => JSON.parse(text));
}

/** Every column of `runs`, the command read safely. */
const RUN = { ...getTableColumns(runs), command: jsonText(runs.command) };

/**
 * One-off runs and cron runs: queued by the API or the cron scheduler,
 * claimed by one worker (`for update skip locked`) that holds them with a
 * renewed lock while their container runs, and ended with an exit code and
 * a reason. Their output is stored line by line, masked by the writer.
 */
export class RunStore {
  constructor(private readonly db: Db) {}

  /** Queues a run and wakes the executors. */
  async create(input: NewRun): Promise<RunRow> {
    return this.db.transaction((tx) => this.#insert(tx, input));
  }

  /**
   * Queues a run of a cron job by hand (no slot). Under `forbid` it is
   * refused (ConflictError) while a run of the job is queued or running, as
   * the scheduler skips a slot then; checked under the job's lock, as slots
   * are recorded.
   */
  async createCronRun(input: NewRun & { cronName: string; concurrency: 'forbid' | 'allow' }): Promise<RunRow> {
    const { concurrency, ...run } = input;
    return this.db.transaction(async (tx) => {
      await lockJob(tx, input.environmentId, input.cronName);
      if (concurrency === 'forbid') {
        const running = await activeRunOfJob(tx, input.environmentId, input.cronName);
        if (running) {
          throw new ConflictError(
            `the run of ${(running.slot ?? running.createdAt).toISOString()} is still running (concurrency: forbid); cancel it or wait for it to end`,
          );
        }
      }
      return this.#insert(tx, { ...run, kind: 'cron' });
    });
  }

  /** Inserts a queued run and wakes the executors (NOTIFY at commit). */
  async #insert(tx: Tx, input: NewRun): Promise<RunRow> {
    const [row] = await tx
      .insert(runs)
      .values({
        appId: input.appId,
        environmentId: input.environmentId,
        releaseId: input.releaseId ?? null,
        kind: input.kind,
        cronName: input.cronName ?? null,
        command: input.command,
        timeoutSeconds: input.timeoutSeconds,
        memoryMb: input.memoryMb ?? null,
        cpus: input.cpus ?? null,
        startedBy: input.startedBy,
      })
      .returning(RUN);
    await tx.execute(sql`select pg_notify(${RUNS_CHANNEL}, '')`);
    return row as RunRow;
  }

  /**
   * Records the run of a cron job's slot, once per slot however many
   * schedulers try (the unique index `runs_cron_slot`): queued, or, under
   * `forbid` while another run of the job is queued or running, skipped with
   * the reason. Under `forbid`, queued runs of older slots that have not
   * started (their workers were down) are cancelled first, superseded by this
   * one: after an outage the latest missed slot runs, not an old one. The
   * job's slots are recorded one at a time (a transaction lock on the
   * environment and job), so two schedulers cannot both queue under `forbid`.
   * Null when the slot was recorded already.
   */
  async recordCronSlot(input: CronSlot): Promise<RunRow | null> {
    return this.db.transaction(async (tx) => {
      await lockJob(tx, input.environmentId, input.cronName);
      const ofJob = and(eq(runs.environmentId, input.environmentId), eq(runs.cronName, input.cronName), eq(runs.kind, 'cron'));
      const [recorded] = await tx
        .select({ id: runs.id })
        .from(runs)
        .where(and(ofJob, eq(runs.slot, input.slot)));
      if (recorded) return null;
      let running: Awaited<ReturnType<typeof activeRunOfJob>>;
      if (input.concurrency === 'forbid') {
        await tx
          .update(runs)
          .set({
            state: 'cancelled',
            reason: `superseded by the run of ${input.slot.toISOString()}`,
            finishedAt: new Date(),
          })
          .where(and(ofJob, eq(runs.state, 'queued'), lt(runs.slot, input.slot)));
        running = await activeRunOfJob(tx, input.environmentId, input.cronName);
      }
      const [row] = await tx
        .insert(runs)
        .values({
          appId: input.appId,
          environmentId: input.environmentId,
          kind: 'cron',
          cronName: input.cronName,
          slot: input.slot,
          command: input.command,
          timeoutSeconds: input.timeoutSeconds,
          startedBy: 'cron',
          ...(running
            ? {
                state: 'skipped',
                reason: `the run of ${(running.slot ?? running.createdAt).toISOString()} was still running (concurrency: forbid)`,
                finishedAt: new Date(),
              }
            : {}),
        })
        .onConflictDoNothing()
        .returning(RUN);
      if (row && row.state === 'queued') await tx.execute(sql`select pg_notify(${RUNS_CHANNEL}, '')`);
      return row ?? null;
    });
  }

  /**
   * Claims the oldest queued run for `lockedBy`, until `leaseMs` from now: it
   * is `running` from here on, and the claimer renews the lock while its
   * container runs. Several workers claim different runs (skip locked).
   */
  async claim(lockedBy: string, leaseMs: number): Promise<RunRow | null> {
    const rows = await this.db.execute<{ id: string }>(sql`
      update runs set state = 'running', locked_by = ${lockedBy}, started_at = now(),
        locked_until = now() + ${`${leaseMs} milliseconds`}::interval
      where id = (
        select id from runs where state = 'queued'
        order by created_at
        limit 1
        for update skip locked
      )
      returning id`);
    const id = rows[0]?.id;
    return id ? this.get(id) : null;
  }

  /**
   * Extends the lock by `leaseMs` from Postgres's now() (as `claim` and
   * `failExpired` read it: a worker whose clock is behind would otherwise set
   * a lock that others see as run out); false when the run is no longer this
   * worker's (it expired and was failed meanwhile).
   */
  async renew(id: string, lockedBy: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db
      .update(runs)
      .set({ lockedUntil: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
      .where(and(eq(runs.id, id), eq(runs.state, 'running'), eq(runs.lockedBy, lockedBy)))
      .returning({ id: runs.id });
    return rows.length > 0;
  }

  /** The release a run uses, the limits it gets, and its container once it is made. */
  async setStarted(
    id: string,
    change: { releaseId: string; containerId?: string | null; memoryMb?: number; cpus?: number },
  ): Promise<void> {
    await this.db.update(runs).set(change).where(eq(runs.id, id));
  }

  /** Ends a run this worker holds (or a queued one); false when it had ended already. */
  async finish(id: string, end: RunEnd, lockedBy?: string): Promise<boolean> {
    const ended = { state: end.state, exitCode: end.exitCode ?? null, reason: end.reason ?? null, lockedUntil: null };
    const rows = await this.db
      .update(runs)
      .set({ ...ended, finishedAt: new Date() })
      .where(and(eq(runs.id, id), inArray(runs.state, ACTIVE), lockedBy === undefined ? undefined : eq(runs.lockedBy, lockedBy)))
      .returning({ id: runs.id });
    if (end.state === 'failed') await recordCronFailures(this.db, rows);
    return rows.length > 0;
  }

  /**
   * Fails the runs whose worker's lock ran out (it died or lost Postgres):
   * returned, so that their containers (labelled with the run's id) are removed.
   */
  async failExpired(reason: string): Promise<RunRow[]> {
    const failed = await this.db
      .update(runs)
      .set({ state: 'failed', reason, finishedAt: new Date(), lockedUntil: null })
      .where(and(eq(runs.state, 'running'), sql`${runs.lockedUntil} < now()`))
      .returning(RUN);
    await recordCronFailures(this.db, failed);
    return failed;
  }

  /**
   * Asks a run to stop: a queued one is cancelled at once, a running one is
   * stopped by the worker holding it (woken by NOTIFY). The run as it is now.
   */
  async requestCancel(id: string): Promise<RunRow> {
    await this.db
      .update(runs)
      .set({ state: 'cancelled', reason: 'cancelled before it started', finishedAt: new Date() })
      .where(and(eq(runs.id, id), eq(runs.state, 'queued')));
    await this.db.transaction(async (tx) => {
      await tx
        .update(runs)
        .set({ cancelRequestedAt: new Date() })
        .where(and(eq(runs.id, id), eq(runs.state, 'running'), sql`${runs.cancelRequestedAt} is null`));
      await tx.execute(sql`select pg_notify(${RUNS_CHANNEL}, '')`);
    });
    return this.get(id);
  }

  async get(id: string): Promise<RunRow> {
    const [row] = await this.db.select(RUN).from(runs).where(eq(runs.id, id));
    if (!row) throw new NotFoundError(`run ${id} not found`);
    return row;
  }

  /** A run of the environment; another environment's run is not found. */
  async ofEnvironment(environmentId: string, id: string): Promise<RunRow> {
    const [row] = await this.db
      .select(RUN)
      .from(runs)
      .where(and(eq(runs.id, id), eq(runs.environmentId, environmentId)));
    if (!row) throw new NotFoundError(`run ${id} not found`);
    return row;
  }

  /** Runs of an environment, newest first: all, or those of one cron job (`cronName`). */
  list(environmentId: string, options: { cronName?: string; limit?: number } = {}): Promise<RunRow[]> {
    return this.db
      .select(RUN)
      .from(runs)
      .where(and(eq(runs.environmentId, environmentId), options.cronName ? eq(runs.cronName, options.cronName) : undefined))
      .orderBy(desc(runs.createdAt), desc(runs.id))
      .limit(options.limit ?? 100);
  }

  /** Per cron job of the environment, its newest run (by slot or, run by hand, by creation). */
  async lastCronRuns(environmentId: string): Promise<Map<string, RunRow>> {
    const rows = await this.db
      .selectDistinctOn([runs.cronName], RUN)
      .from(runs)
      .where(and(eq(runs.environmentId, environmentId), eq(runs.kind, 'cron')))
      .orderBy(runs.cronName, desc(runs.createdAt));
    return new Map(rows.map((r) => [r.cronName as string, r]));
  }

  /** Per cron job of the environment, the newest slot recorded (run or skipped). */
  async lastCronSlots(environmentId: string): Promise<Map<string, Date>> {
    const rows = await this.db
      .select({ name: runs.cronName, slot: sql<string>`max(${runs.slot})` })
      .from(runs)
      .where(and(eq(runs.environmentId, environmentId), eq(runs.kind, 'cron')))
      .groupBy(runs.cronName);
    return new Map(rows.filter((r) => r.slot).map((r) => [r.name as string, new Date(r.slot)]));
  }

  async appendLines(id: string, lines: { stream: LogLine['stream']; line: string }[]): Promise<void> {
    if (lines.length === 0) return;
    await this.db.insert(runLogLines).values(lines.map((l) => ({ runId: id, ...l })));
  }

  /** Output lines after `afterId`, oldest first. */
  lines(id: string, afterId = 0, limit = 5000): Promise<LogLine[]> {
    return this.db
      .select({ id: runLogLines.id, stream: runLogLines.stream, line: runLogLines.line, at: runLogLines.at })
      .from(runLogLines)
      .where(and(eq(runLogLines.runId, id), gt(runLogLines.id, afterId)))
      .orderBy(asc(runLogLines.id))
      .limit(limit);
  }

  /** The app's and environment's names of a run, and the environment's live release now. */
  async target(environmentId: string): Promise<RunTarget> {
    const [row] = await this.db
      .select({
        environmentId: environments.id,
        appName: apps.name,
        name: environments.name,
        liveReleaseId: environments.liveReleaseId,
      })
      .from(environments)
      .innerJoin(apps, eq(apps.id, environments.appId))
      .where(eq(environments.id, environmentId));
    if (!row) throw new NotFoundError(`environment ${environmentId} not found`);
    return row;
  }

  /** The limits set for the environment's `web` type (null: not set). */
  async webLimits(environmentId: string): Promise<{ memoryMb: number | null; cpus: number | null }> {
    const [row] = await this.db
      .select({ memoryMb: environmentProcesses.memoryMb, cpus: environmentProcesses.cpus })
      .from(environmentProcesses)
      .where(and(eq(environmentProcesses.environmentId, environmentId), eq(environmentProcesses.type, 'web')));
    return row ?? { memoryMb: null, cpus: null };
  }

  /**
   * Deletes up to `limit` ended runs (with their output) beyond the newest
   * `keep` of each environment's one-off runs and of each of its cron jobs.
   * A job's newest run with a slot always stays, however many runs by hand
   * came after it: the scheduler reads its last slot from it, and without it
   * would run a slot again. Returns how many went.
   */
  async deleteOld(keep: number, limit: number): Promise<number> {
    const rows = await this.db.execute<{ id: string }>(sql`
      delete from runs where id in (
        select id from (
          select id, state, row_number() over (
            partition by environment_id, kind, coalesce(cron_name, '') order by created_at desc, id desc
          ) as n
          from runs
        ) ranked
        where n > ${keep} and state not in ('queued', 'running')
          and id not in (
            select distinct on (environment_id, cron_name) id from runs
            where kind = 'cron' and slot is not null
            order by environment_id, cron_name, slot desc
          )
        limit ${limit}
      )
      returning id`);
    return rows.length;
  }
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Until the transaction ends, the one who records a cron job's slots or runs it by hand (per environment and job). */
async function lockJob(tx: Tx, environmentId: string, cronName: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`pier-cron:${environmentId}:${cronName}`}, 0))`);
}

/** The oldest queued or running run of a cron job, or undefined. */
async function activeRunOfJob(tx: Tx, environmentId: string, cronName: string) {
  const [running] = await tx
    .select({ slot: runs.slot, createdAt: runs.createdAt })
    .from(runs)
    .where(
      and(eq(runs.environmentId, environmentId), eq(runs.cronName, cronName), eq(runs.kind, 'cron'), inArray(runs.state, ACTIVE)),
    )
    .orderBy(asc(runs.createdAt))
    .limit(1);
  return running;
}
