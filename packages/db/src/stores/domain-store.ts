import { type AppQuotas, ConflictError, NotFoundError } from '@pier/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import { CERTIFICATES_CHANNEL, ROUTES_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { apps, certificates, domains, environments } from '../schema.ts';
import { assertWithinQuotas } from './app-usage.ts';
import { isUniqueViolation } from './pg-errors.ts';

export type DomainRow = typeof domains.$inferSelect;

/**
 * Custom domains of environments. Each hostname belongs to at most one
 * environment of one app; adding or removing one notifies the proxy's route
 * feed (and the certificate renewer, which listens on the same channel).
 * Callers validate and canonicalise hostnames first.
 */
export class DomainStore {
  constructor(private readonly db: Db) {}

  list(environmentId: string): Promise<DomainRow[]> {
    return this.db.select().from(domains).where(eq(domains.environmentId, environmentId)).orderBy(asc(domains.hostname));
  }

  /**
   * Adds `hostname` to the environment with a pending certificate record; a
   * hostname taken by any environment is a ConflictError naming its owner.
   */
  async add(environmentId: string, hostname: string, quotas?: AppQuotas): Promise<DomainRow> {
    try {
      return await this.db.transaction(async (tx) => {
        if (quotas) {
          const [env] = await tx
            .select({ appId: environments.appId })
            .from(environments)
            .where(eq(environments.id, environmentId));
          if (env) await assertWithinQuotas(tx, env.appId, quotas, { domains: 1 }, 'hostname');
        }
        const [row] = await tx.insert(domains).values({ environmentId, hostname }).returning();
        if (!row) throw new Error('insert returned no row');
        // Pending at once, so the domain's status says so before the worker's next pass.
        await tx.insert(certificates).values({ hostname }).onConflictDoNothing();
        await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${`domain:${environmentId}`})`);
        return row;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const owner = await this.owner(hostname);
      const where = owner ? ` (app ${owner.app}, environment ${owner.env})` : '';
      throw new ConflictError(`hostname: ${hostname} is already a domain${where}`);
    }
  }

  /** Removes the domain and its certificate; the proxy stops serving both. */
  async remove(environmentId: string, hostname: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const removed = await tx
        .delete(domains)
        .where(and(eq(domains.environmentId, environmentId), eq(domains.hostname, hostname)))
        .returning({ id: domains.id });
      if (removed.length === 0) throw new NotFoundError(`domain ${hostname} not found`);
      await tx.delete(certificates).where(eq(certificates.hostname, hostname));
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${`domain:${environmentId}`})`);
      await tx.execute(sql`select pg_notify(${CERTIFICATES_CHANNEL}, ${hostname})`);
    });
  }

  /** The app and environment a hostname is a custom domain of, if any (unscoped: for conflict messages). */
  async owner(hostname: string): Promise<{ app: string; env: string } | null> {
    const [row] = await this.db
      .select({ app: apps.name, env: environments.name })
      .from(domains)
      .innerJoin(environments, eq(environments.id, domains.environmentId))
      .innerJoin(apps, eq(apps.id, environments.appId))
      .where(eq(domains.hostname, hostname));
    return row ?? null;
  }

  /** Every app's name, to keep custom domains out of other apps' generated hostnames. */
  async appNames(): Promise<string[]> {
    const rows = await this.db.select({ name: apps.name }).from(apps);
    return rows.map((r) => r.name);
  }

  /** Sets an environment's HTTPS behaviour and notifies the proxy. */
  async setHttpsOptions(environmentId: string, options: { httpsRedirect?: boolean; hsts?: boolean }): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx
        .update(environments)
        .set({ ...options, updatedAt: new Date() })
        .where(eq(environments.id, environmentId));
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${`https:${environmentId}`})`);
    });
  }
}
