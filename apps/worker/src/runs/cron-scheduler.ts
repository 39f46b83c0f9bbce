import { latestDueSlot, PassLoop, parseCron } from '@pier/core';
import type { CronJob, Stores } from '@pier/db';
import type { Logger } from '@pier/log';

/** A cron run's time limit when its job sets none. */
export const CRON_DEFAULT_TIMEOUT_SECONDS = 3600;
/** Missed slots older than this are not looked for (a worker down for longer runs the next slot). */
const LOOKBACK_MS = 35 * 24 * 3600_000;

export interface CronSchedulerOptions {
  stores: Pick<Stores, 'cron' | 'runs'>;
  logger: Logger;
  /** How often due slots are looked for. Default 10 s: a run starts within that of its slot. */
  intervalMs?: number;
  now?: () => Date;
}

/**
 * Records the due slot of every cron job of every environment with a live
 * release (its API jobs and its release's pier.json jobs) as a queued run,
 * which the run executors start. Only the newest slot due since the job's
 * last recorded one (or since it was declared) is recorded: a worker that was
 * down runs the latest missed slot once, not a burst. Several schedulers may
 * run at once: the unique index on (environment, job, slot) records each
 * slot once. Under `forbid` a slot that comes while a run of the job is
 * queued or running is recorded as skipped, with the reason.
 */
export class CronScheduler {
  readonly #loop: PassLoop;

  constructor(private readonly options: CronSchedulerOptions) {
    this.#loop = new PassLoop({
      name: 'cron',
      intervalMs: options.intervalMs ?? 10_000,
      logger: options.logger,
      pass: (signal) => this.pass(signal),
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  kick(): void {
    this.#loop.kick();
  }

  /** One look at every job; returns the runs recorded (queued or skipped). */
  async pass(signal?: AbortSignal): Promise<number> {
    const { stores, logger } = this.options;
    const now = (this.options.now ?? (() => new Date()))();
    let recorded = 0;
    for (const target of await stores.cron.targets()) {
      if (signal?.aborted) break;
      const lastSlots = await stores.runs.lastCronSlots(target.environmentId);
      for (const job of target.jobs) {
        let slot: Date | null;
        try {
          slot = dueSlot(job, lastSlots.get(job.name), now);
        } catch (err) {
          logger.warn({ err, environmentId: target.environmentId, job: job.name }, 'cron job has a schedule Pier cannot read');
          continue;
        }
        if (!slot) continue;
        const run = await stores.runs.recordCronSlot({
          appId: target.appId,
          environmentId: target.environmentId,
          cronName: job.name,
          slot,
          command: job.command,
          timeoutSeconds: job.timeoutSeconds ?? CRON_DEFAULT_TIMEOUT_SECONDS,
          concurrency: job.concurrency,
        });
        if (!run) continue;
        recorded++;
        const context = { environmentId: target.environmentId, job: job.name, slot, runId: run.id };
        if (run.state === 'skipped') logger.warn({ ...context, reason: run.reason }, 'cron slot skipped');
        else logger.info(context, 'cron run queued');
      }
    }
    return recorded;
  }
}

/** The newest slot of `job` due at `now` after its last recorded slot (or its declaration), or null. */
export function dueSlot(
  job: Pick<CronJob, 'schedule' | 'timeZone' | 'since'>,
  lastSlot: Date | undefined,
  now: Date,
): Date | null {
  const floor = new Date(now.getTime() - LOOKBACK_MS);
  const since = [job.since, lastSlot ?? job.since, floor].reduce((a, b) => (a > b ? a : b));
  return latestDueSlot(parseCron(job.schedule, job.timeZone ?? undefined), since, now);
}
