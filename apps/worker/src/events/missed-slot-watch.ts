import { type CronSchedule, type MissedSlots, missedSlots, type NewEvent, parseCron } from '@pier/core';
import type { BackupSchedule, Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { LeasedLoop } from '../worker-lease.ts';

const LEASE = 'missed-slots';
/** A slot is reported this long after it passed with nothing recorded: the schedulers take theirs within seconds. */
export const DEFAULT_MISSED_GRACE_MS = 2 * 60_000;

export interface MissedSlotWatchOptions {
  stores: Pick<Stores, 'scheduleWatches' | 'cron' | 'events' | 'leases'>;
  logger: Logger;
  /** How often the schedules are checked. Default a minute. */
  intervalMs?: number;
  /** How long after a slot it is reported missed (PIER_MISSED_SLOT_GRACE_MS, default 2 minutes). */
  graceMs?: number;
  /** Names this worker in the lease; default host, pid and a random tail. */
  holder?: string;
  now?: () => Date;
}

/** One schedule as the watch checks it: where its slots are recorded and what its events say. */
interface WatchedSchedule {
  key: string;
  schedule: CronSchedule;
  /** Slots before this are not looked for (the job declared, the service ready). */
  since: Date;
  kind: 'backup.missed' | 'cron.missed';
  /** e.g. "shop production: the backup of volume data". */
  what: string;
  place: Pick<NewEvent, 'appId' | 'environmentId' | 'envName'>;
  data: Record<string, unknown>;
  taken(from: Date, until: Date): Promise<Set<number>>;
}

/**
 * The dead man's switch: every minute, in one worker at a time (the
 * `missed-slots` lease), each backup schedule (managed services, app
 * volumes) and each cron job (the API's and the live release's pier.json)
 * is checked from where the last pass stopped (`schedule_watches`; the first
 * time: now) to now less a grace: a slot with no backup or run recorded is a
 * `backup.missed` or `cron.missed` event, once (dedupe key `<key>:<slot>`).
 * At most 50 slots per schedule and pass are reported one by one; the rest
 * of a long stretch is one event.
 */
export class MissedSlotWatch {
  readonly #loop: LeasedLoop;

  constructor(private readonly options: MissedSlotWatchOptions) {
    const intervalMs = options.intervalMs ?? 60_000;
    this.#loop = new LeasedLoop(
      {
        name: LEASE,
        leases: options.stores.leases,
        intervalMs,
        holder: options.holder,
        logger: options.logger,
      },
      () => this.pass(),
    );
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** One look at every schedule: the events recorded (none unless this worker holds the lease). */
  async pass(): Promise<number> {
    const { logger } = this.options;
    if (!(await this.#loop.hold())) return 0;
    const now = (this.options.now ?? (() => new Date()))();
    const until = new Date(now.getTime() - (this.options.graceMs ?? DEFAULT_MISSED_GRACE_MS));
    let recorded = 0;
    for (const watched of await this.schedules()) {
      try {
        recorded += await this.check(watched, until, now);
      } catch (err) {
        logger.warn({ err, schedule: watched.key }, 'cannot check a schedule for missed slots');
      }
    }
    return recorded;
  }

  private async check(watched: WatchedSchedule, until: Date, now: Date): Promise<number> {
    const { scheduleWatches, events } = this.options.stores;
    const checked = await scheduleWatches.checkedUntil(watched.key);
    if (!checked) {
      // First look: from now on (what happened before the watch existed is not known).
      await scheduleWatches.advance(watched.key, now);
      return 0;
    }
    const from = new Date(Math.max(checked.getTime(), watched.since.getTime()));
    if (until <= from) return 0;
    const found = missedSlots(watched.schedule, from, until, await watched.taken(from, until));
    const list = missedEvents(watched, found);
    // Each in the log (or recorded before: its dedupe key) before the cursor moves: a failure throws, the next pass retries.
    for (const event of list) await events.recordOrThrow(event);
    await scheduleWatches.advance(watched.key, until);
    return list.length;
  }

  /** Every backup schedule and cron job, each with its lookup of recorded slots. */
  private async schedules(): Promise<WatchedSchedule[]> {
    const { scheduleWatches, cron } = this.options.stores;
    const watched: WatchedSchedule[] = [];
    for (const backup of await scheduleWatches.backupSchedules()) {
      const schedule = this.parsed(backup.key, backup.schedule);
      if (schedule)
        watched.push(backupWatch(backup, schedule, (from, until) => scheduleWatches.backupSlots(backup, from, until)));
    }
    const targets = await cron.targets();
    const names = await scheduleWatches.environmentNames(targets.map((t) => t.environmentId));
    for (const target of targets) {
      const place = names.get(target.environmentId);
      for (const job of target.jobs) {
        const key = `${job.source === 'api' ? 'cron' : 'release-cron'}:${target.environmentId}:${job.name}`;
        const schedule = this.parsed(key, job.schedule, job.timeZone);
        if (!schedule) continue;
        watched.push({
          key,
          schedule,
          since: job.since,
          kind: 'cron.missed',
          what: `${place ? `${place.appName} ${place.envName}: ` : ''}cron job ${job.name}`,
          place: { appId: target.appId, environmentId: target.environmentId, envName: place?.envName ?? null },
          data: { cron: job.name, schedule: job.schedule, timeZone: job.timeZone },
          taken: (from, until) => scheduleWatches.cronSlots(target.environmentId, job.name, from, until),
        });
      }
    }
    return watched;
  }

  private parsed(key: string, expression: string, timeZone?: string | null): CronSchedule | null {
    try {
      return parseCron(expression, timeZone ?? undefined);
    } catch (err) {
      this.options.logger.warn({ err, schedule: key }, 'a schedule Pier cannot read is not watched');
      return null;
    }
  }
}

function backupWatch(backup: BackupSchedule, schedule: CronSchedule, taken: WatchedSchedule['taken']): WatchedSchedule {
  const where = backup.appName ? `${backup.appName} ${backup.envName}: ` : '';
  return {
    key: backup.key,
    schedule,
    since: backup.since,
    kind: 'backup.missed',
    what: `${where}the scheduled backup of ${backup.kind === 'service' ? 'managed service' : 'volume'} ${backup.name}`,
    place: { appId: backup.appId, environmentId: backup.environmentId, envName: backup.envName },
    data: { [backup.kind]: backup.name, schedule: backup.schedule },
    taken,
  };
}

/** One event per missed slot, and one for the rest of a long stretch. */
export function missedEvents(
  watched: Pick<WatchedSchedule, 'key' | 'kind' | 'what' | 'place' | 'data'>,
  found: MissedSlots,
): NewEvent[] {
  const list: NewEvent[] = found.missed.map((slot) => ({
    ...watched.place,
    kind: watched.kind,
    message: `${watched.what} due at ${slot.toISOString()} did not run.`,
    data: { ...watched.data, slot: slot.toISOString() },
    dedupeKey: `${watched.key}:${slot.toISOString()}`,
  }));
  if (found.more > 0 && found.lastMissed) {
    const last = found.lastMissed.toISOString();
    list.push({
      ...watched.place,
      kind: watched.kind,
      message: `${watched.what} also missed ${found.more} more slots, up to ${last}.`,
      data: { ...watched.data, more: found.more, lastSlot: last },
      dedupeKey: `${watched.key}:${last}:more`,
    });
  }
  return list;
}
