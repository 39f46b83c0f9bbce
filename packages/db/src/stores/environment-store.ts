import { ConflictError, NotFoundError, PROTECTED_ENVIRONMENTS } from '@pier/core';
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { environments } from '../schema.ts';
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
