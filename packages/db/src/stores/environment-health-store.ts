import type { DesiredEnvironment, DesiredProcess } from '@pier/core';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../client.ts';
import { apps, environmentProcesses, environments, releases, rollouts, volumes } from '../schema.ts';

/** What the reconciler needs of every environment. */
export interface ReconcileTarget extends DesiredEnvironment {
  rollout: { id: string; toReleaseId: string; deploymentId: string | null } | null;
  appId: string;
  appName: string;
  /** The environment's name. */
  name: string;
  processes: DesiredProcess[];
  singleWriterTypes: string[];
}

/** Replicas of a process type other than web when the environment does not say: one, as Heroku's Procfile types run. */
export const DEFAULT_PROCESS_REPLICAS = 1;

/** Process type → command (null: the image's own command), as a release keeps it. */
export type ReleaseProcesses = Record<string, string | null>;

/** Reconciler-facing queries and updates of environments and their process types. */
export class EnvironmentHealthStore {
  constructor(private readonly db: Db) {}

  async targets(): Promise<ReconcileTarget[]> {
    const desired = alias(releases, 'desired_release');
    const live = alias(releases, 'live_release');
    const [rows, processRows, writers] = await Promise.all([
      this.db
        .select({
          environmentId: environments.id,
          appId: environments.appId,
          appName: apps.name,
          name: environments.name,
          desiredReleaseId: environments.desiredReleaseId,
          liveReleaseId: environments.liveReleaseId,
          replicas: environments.replicas,
          drainTimeoutMs: environments.drainTimeoutMs,
          restartStreak: environments.restartStreak,
          nextRestartAt: environments.nextRestartAt,
          lastCrashAt: environments.lastCrashAt,
          rolloutId: rollouts.id,
          rolloutTo: rollouts.toReleaseId,
          rolloutDeploymentId: rollouts.deploymentId,
          desiredProcesses: desired.processes,
          liveProcesses: live.processes,
        })
        .from(environments)
        .innerJoin(apps, eq(apps.id, environments.appId))
        .leftJoin(rollouts, and(eq(rollouts.environmentId, environments.id), eq(rollouts.state, 'active')))
        .leftJoin(desired, eq(desired.id, environments.desiredReleaseId))
        .leftJoin(live, eq(live.id, environments.liveReleaseId)),
      this.db.select().from(environmentProcesses),
      this.db
        .select({ environmentId: volumes.environmentId, processTypes: volumes.processTypes })
        .from(volumes)
        .where(and(isNull(volumes.deletingAt), eq(volumes.shared, false))),
    ]);
    return rows.map(({ rolloutId, rolloutTo, rolloutDeploymentId, desiredProcesses, liveProcesses, ...r }) => {
      const wanted = (desiredProcesses ?? { web: null }) as ReleaseProcesses;
      const types = Object.keys((liveProcesses ?? {}) as ReleaseProcesses).filter((type) => type !== 'web');
      return {
        ...r,
        // A release without a web process runs no web replica.
        replicas: 'web' in wanted ? r.replicas : 0,
        rollout: rolloutId && rolloutTo ? { id: rolloutId, toReleaseId: rolloutTo, deploymentId: rolloutDeploymentId } : null,
        processes: types.map((type) => {
          const row = processRows.find((p) => p.environmentId === r.environmentId && p.type === type);
          return {
            type,
            replicas: row?.replicas ?? DEFAULT_PROCESS_REPLICAS,
            restartStreak: row?.restartStreak ?? 0,
            nextRestartAt: row?.nextRestartAt ?? null,
            lastCrashAt: row?.lastCrashAt ?? null,
          };
        }),
        singleWriterTypes: [
          ...new Set(writers.filter((w) => w.environmentId === r.environmentId).flatMap((w) => w.processTypes)),
        ],
      };
    });
  }

  /**
   * A replica of `processType` crashed: the type's next restart waits until
   * `nextRestartAt`; how it ended is kept for status. Says whether the type
   * was crash-looping already before this crash (its health, which a
   * recovery and a new release reset), so the crash loop is reported once
   * per streak however its count runs.
   */
  async backoff(
    environmentId: string,
    processType: string,
    crash: { restartStreak: number; crashedAt: Date; nextRestartAt: Date; crashLooping: boolean; exit: ProcessExit | null },
  ): Promise<{ wasLooping: boolean }> {
    const health = crash.crashLooping ? 'crash-looping' : 'ok';
    const streak = { restartStreak: crash.restartStreak, nextRestartAt: crash.nextRestartAt, lastCrashAt: crash.crashedAt };
    return this.db.transaction(async (tx) => {
      const [before] =
        processType === 'web'
          ? await tx.execute<{ health: string }>(sql`select health from environments where id = ${environmentId} for update`)
          : await tx.execute<{ health: string }>(sql`
              select health from environment_processes where environment_id = ${environmentId} and type = ${processType} for update`);
      if (processType === 'web') {
        await tx
          .update(environments)
          .set({ ...streak, health })
          .where(eq(environments.id, environmentId));
      }
      const own = processType === 'web' ? {} : { ...streak, health };
      const lastExit = crash.exit ? { lastExit: crash.exit } : {};
      await tx
        .insert(environmentProcesses)
        .values({ environmentId, type: processType, ...own, ...lastExit })
        .onConflictDoUpdate({
          target: [environmentProcesses.environmentId, environmentProcesses.type],
          set: { ...own, ...lastExit, updatedAt: new Date() },
        });
      // Counted for metrics (and the watch after a rollout) in the same transaction: one restart per crash, of the live release.
      const oomKills = crash.exit?.oomKilled ? 1 : 0;
      await tx.execute(sql`
        insert into restart_metrics (environment_id, process_type, release_id, step, at, restarts, oom_kills)
        select id, ${processType}, live_release_id, 60, date_trunc('minute', ${crash.crashedAt.toISOString()}::timestamptz), 1, ${oomKills}
        from environments where id = ${environmentId}
        on conflict on constraint restart_metrics_bucket do update
          set restarts = restart_metrics.restarts + 1, oom_kills = restart_metrics.oom_kills + excluded.oom_kills`);
      return { wasLooping: before?.health === 'crash-looping' };
    });
  }

  async recovered(environmentId: string, processType: string): Promise<void> {
    const reset = { restartStreak: 0, nextRestartAt: null, health: 'ok' };
    if (processType === 'web') {
      await this.db.update(environments).set(reset).where(eq(environments.id, environmentId));
      return;
    }
    await this.db
      .update(environmentProcesses)
      .set({ ...reset, updatedAt: sql`now()` })
      .where(and(eq(environmentProcesses.environmentId, environmentId), eq(environmentProcesses.type, processType)));
  }
}

/** How a replica ended without being asked, kept per process type and shown in status. */
export interface ProcessExit {
  at: string;
  exitCode: number | null;
  oomKilled: boolean;
  memoryMb: number | null;
  reason: string;
}
