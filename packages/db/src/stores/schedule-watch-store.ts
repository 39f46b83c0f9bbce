import { and, eq, gt, inArray, isNotNull, isNull, lte } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps, environments, managedServices, runs, scheduleWatches, serviceBackups, volumeBackups, volumes } from '../schema.ts';

/** A backup schedule the "missed" watch checks: a managed service's or an app volume's. */
export interface BackupSchedule {
  /** `service-backup:<id>` or `volume-backup:<id>`: its row in schedule_watches. */
  key: string;
  kind: 'service' | 'volume';
  id: string;
  /** The service's or the volume's name. */
  name: string;
  schedule: string;
  /** Slots before this are not looked for (the service was ready, the volume made). */
  since: Date;
  appId: string | null;
  environmentId: string | null;
  envName: string | null;
  appName: string | null;
}

/**
 * What the dead man's switch reads and writes: how far each schedule has
 * been checked (`schedule_watches`), the backup schedules, and which slots
 * a backup or a run was recorded for.
 */
export class ScheduleWatchStore {
  constructor(private readonly db: Db) {}

  /** How far `key` was checked, or null the first time. */
  async checkedUntil(key: string): Promise<Date | null> {
    const [row] = await this.db.select().from(scheduleWatches).where(eq(scheduleWatches.key, key));
    return row?.checkedUntil ?? null;
  }

  async advance(key: string, until: Date): Promise<void> {
    await this.db
      .insert(scheduleWatches)
      .values({ key, checkedUntil: until })
      .onConflictDoUpdate({ target: scheduleWatches.key, set: { checkedUntil: until } });
  }

  /** Ready managed services' and live volumes' backup schedules, with the app each belongs to (a service may have none). */
  async backupSchedules(): Promise<BackupSchedule[]> {
    const services = await this.db
      .select({
        id: managedServices.id,
        name: managedServices.name,
        schedule: managedServices.backupSchedule,
        since: managedServices.readyAt,
        environmentId: environments.id,
        envName: environments.name,
        appId: apps.id,
        appName: apps.name,
      })
      .from(managedServices)
      .leftJoin(environments, eq(environments.id, managedServices.ownerEnvironmentId))
      .leftJoin(apps, eq(apps.id, environments.appId))
      .where(and(eq(managedServices.state, 'ready'), isNotNull(managedServices.readyAt)));
    const appVolumes = await this.db
      .select({
        id: volumes.id,
        name: volumes.name,
        schedule: volumes.backupSchedule,
        since: volumes.createdAt,
        environmentId: environments.id,
        envName: environments.name,
        appId: apps.id,
        appName: apps.name,
      })
      .from(volumes)
      .innerJoin(environments, eq(environments.id, volumes.environmentId))
      .innerJoin(apps, eq(apps.id, environments.appId))
      .where(isNull(volumes.deletingAt));
    return [
      ...services.map((s) => ({ ...s, key: `service-backup:${s.id}`, kind: 'service' as const, since: s.since ?? new Date(0) })),
      ...appVolumes.map((v) => ({ ...v, key: `volume-backup:${v.id}`, kind: 'volume' as const })),
    ];
  }

  /** Slots (epoch ms) after `from` and not after `until` with a backup recorded (in any state). */
  async backupSlots(schedule: Pick<BackupSchedule, 'kind' | 'id'>, from: Date, until: Date): Promise<Set<number>> {
    const table = schedule.kind === 'service' ? serviceBackups : volumeBackups;
    const owner = schedule.kind === 'service' ? serviceBackups.serviceId : volumeBackups.volumeId;
    const rows = await this.db
      .select({ at: table.scheduledFor })
      .from(table)
      .where(and(eq(owner, schedule.id), gt(table.scheduledFor, from), lte(table.scheduledFor, until)));
    return new Set(rows.flatMap((r) => (r.at ? [r.at.getTime()] : [])));
  }

  /** App and environment names of environments, for the events' text. */
  async environmentNames(ids: readonly string[]): Promise<Map<string, { appName: string; envName: string }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .select({ id: environments.id, envName: environments.name, appName: apps.name })
      .from(environments)
      .innerJoin(apps, eq(apps.id, environments.appId))
      .where(inArray(environments.id, [...ids]));
    return new Map(rows.map((r) => [r.id, { appName: r.appName, envName: r.envName }]));
  }

  /** Slots (epoch ms) of cron job `cronName` of an environment after `from` and not after `until` with a run recorded (skipped ones too). */
  async cronSlots(environmentId: string, cronName: string, from: Date, until: Date): Promise<Set<number>> {
    const rows = await this.db
      .select({ at: runs.slot })
      .from(runs)
      .where(and(eq(runs.environmentId, environmentId), eq(runs.cronName, cronName), gt(runs.slot, from), lte(runs.slot, until)));
    return new Set(rows.flatMap((r) => (r.at ? [r.at.getTime()] : [])));
  }
}
