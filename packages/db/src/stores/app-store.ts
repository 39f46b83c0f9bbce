import { ConflictError, defaultEnvironments, NotFoundError, type Principal, visibleAppId } from '@pier/core';
import { and, asc, eq, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps, environments } from '../schema.ts';
import { isUniqueViolation } from './pg-errors.ts';

export type AppRow = typeof apps.$inferSelect;

export interface NewApp {
  name: string;
  repoFullName?: string | null;
  repoCloneUrl?: string | null;
  defaultBranch?: string;
  dockerfilePath?: string;
}

export type AppPatch = Partial<Omit<NewApp, 'name'>>;

/** Apps, always read through what the caller may see. */
export class AppStore {
  constructor(private readonly db: Db) {}

  /** Creates the app with its default environments in one transaction. */
  async create(input: NewApp): Promise<AppRow> {
    try {
      return await this.db.transaction(async (tx) => {
        const [app] = await tx.insert(apps).values(input).returning();
        if (!app) throw new Error('insert returned no row');
        const envs = defaultEnvironments(app.defaultBranch).map((e) => ({ ...e, appId: app.id }));
        await tx.insert(environments).values(envs);
        return app;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`an app named ${input.name} already exists`);
      throw err;
    }
  }

  list(principal: Principal): Promise<AppRow[]> {
    return this.db.select().from(apps).where(scoped(principal)).orderBy(asc(apps.name));
  }

  async get(principal: Principal, name: string): Promise<AppRow> {
    const [app] = await this.db
      .select()
      .from(apps)
      .where(and(eq(apps.name, name), scoped(principal)));
    if (!app) throw new NotFoundError(`app ${name} not found`);
    return app;
  }

  async update(principal: Principal, name: string, patch: AppPatch): Promise<AppRow> {
    const app = await this.get(principal, name);
    const [updated] = await this.db
      .update(apps)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(apps.id, app.id))
      .returning();
    if (!updated) throw new NotFoundError(`app ${name} not found`);
    return updated;
  }

  async delete(principal: Principal, name: string): Promise<void> {
    const app = await this.get(principal, name);
    await this.db.delete(apps).where(eq(apps.id, app.id));
  }
}

function scoped(principal: Principal): SQL | undefined {
  const appId = visibleAppId(principal);
  return appId === null ? undefined : eq(apps.id, appId);
}
