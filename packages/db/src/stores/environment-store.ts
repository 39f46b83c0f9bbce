import { ConflictError, type DesiredEnvironment, NotFoundError, PROTECTED_ENVIRONMENTS } from '@pier/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { deployments, environments } from '../schema.ts';
import { isUniqueViolation } from './pg-errors.ts';

export type EnvironmentRow = typeof environments.$inferSelect;

export interface EnvironmentSettings {
  branch?: string | null;
  tagPattern?: string | null;
  replicas?: number;
  healthPath?: string;
  healthIntervalMs?: number;
  healthTimeoutMs?: number;
  healthyThreshold?: number;
  healthDeadlineMs?: number;
  drainTimeoutMs?: number;
}

/** Environments of one app; callers resolve the app (and its visibility) first. */
export class EnvironmentStore {
  constructor(private readonly db: Db) {}

  list(appId: string): Promise<EnvironmentRow[]> {
    return this.db.select().from(environments).where(eq(environments.appId, appId)).orderBy(asc(environments.name));
  }

  async get(appId: string, name: string): Promise<EnvironmentRow> {
    const [env] = await this.db
      .select()
      .from(environments)
      .where(and(eq(environments.appId, appId), eq(environments.name, name)));
    if (!env) throw new NotFoundError(`environment ${name} not found`);
    return env;
  }

  /** Internal lookup by id, not scoped: for the worker. */
  async byId(id: string): Promise<EnvironmentRow> {
    const [env] = await this.db.select().from(environments).where(eq(environments.id, id));
    if (!env) throw new NotFoundError(`environment ${id} not found`);
    return env;
  }

  async create(appId: string, name: string, settings: EnvironmentSettings): Promise<EnvironmentRow> {
    try {
      const [env] = await this.db
        .insert(environments)
        .values({ ...settings, appId, name })
        .returning();
      if (!env) throw new Error('insert returned no row');
      return env;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`environment ${name} already exists`);
      throw err;
    }
  }

  async update(appId: string, name: string, settings: EnvironmentSettings): Promise<EnvironmentRow> {
    const [env] = await this.db
      .update(environments)
      .set({ ...settings, updatedAt: new Date() })
      .where(and(eq(environments.appId, appId), eq(environments.name, name)))
      .returning();
    if (!env) throw new NotFoundError(`environment ${name} not found`);
    return env;
  }

  async delete(appId: string, name: string): Promise<void> {
    if ((PROTECTED_ENVIRONMENTS as readonly string[]).includes(name)) {
      throw new ConflictError(`environment ${name} cannot be deleted; delete the app instead`);
    }
    const deleted = await this.db
      .delete(environments)
      .where(and(eq(environments.appId, appId), eq(environments.name, name)))
      .returning({ id: environments.id });
    if (deleted.length === 0) throw new NotFoundError(`environment ${name} not found`);
  }
}

/** What the reconciler needs of every environment. */
export interface ReconcileTarget extends DesiredEnvironment {
  appId: string;
}

/** Reconciler-facing queries and updates of environments. */
export class EnvironmentHealthStore {
  constructor(private readonly db: Db) {}

  async targets(): Promise<ReconcileTarget[]> {
    const rows = await this.db
      .select({
        environmentId: environments.id,
        appId: environments.appId,
        releaseId: environments.desiredReleaseId,
        replicas: environments.replicas,
        drainTimeoutMs: environments.drainTimeoutMs,
        restartStreak: environments.restartStreak,
        nextRestartAt: environments.nextRestartAt,
        lastCrashAt: environments.lastCrashAt,
        deployInProgress: sql<boolean>`exists (select 1 from ${deployments} d where d.environment_id = ${environments.id}
          and d.state = 'deploying' and d.deploy_started_at is not null)`,
      })
      .from(environments);
    return rows.map((r) => ({ ...r, deployInProgress: Boolean(r.deployInProgress) }));
  }

  /** A replica crashed: the next restart waits until `nextRestartAt`. */
  async backoff(
    environmentId: string,
    restartStreak: number,
    crashedAt: Date,
    nextRestartAt: Date,
    crashLooping: boolean,
  ): Promise<void> {
    await this.db
      .update(environments)
      .set({ restartStreak, nextRestartAt, lastCrashAt: crashedAt, health: crashLooping ? 'crash-looping' : 'ok' })
      .where(eq(environments.id, environmentId));
  }

  async recovered(environmentId: string): Promise<void> {
    await this.db
      .update(environments)
      .set({ restartStreak: 0, nextRestartAt: null, health: 'ok' })
      .where(eq(environments.id, environmentId));
  }
}
