import {
  authorityVariableKeys,
  injectedVariableKey,
  linkVariableKeys,
  NotFoundError,
  RESERVED_VARIABLE_KEYS,
  RESERVED_VARIABLE_PREFIX,
  type SecretBox,
  serviceEngine,
  type UrlParams,
  ValidationError,
} from '@pier/core';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { environments, managedServices, serviceLinks, variables } from '../schema.ts';

export interface VariableView {
  key: string;
  /** Plaintext when revealed, otherwise null. */
  value: string | null;
  updatedAt: Date;
}

export interface VariableChange {
  set?: Record<string, string>;
  unset?: string[];
  /** Fail with NotFoundError (changing nothing) when an unset key does not exist. */
  requireExisting?: boolean;
}

export interface VariableChangeResult {
  set: string[];
  unset: string[];
  configVersion: number;
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Variables of one environment, sealed at rest with the SecretBox. */
export class VariableStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async list(environmentId: string, reveal: boolean): Promise<VariableView[]> {
    const rows = await this.db
      .select()
      .from(variables)
      .where(eq(variables.environmentId, environmentId))
      .orderBy(asc(variables.key));
    return rows.map((row) => ({
      key: row.key,
      value: reveal ? this.open(row) : null,
      updatedAt: row.updatedAt,
    }));
  }

  /** One variable with its plaintext value, or null when it is not set. */
  async reveal(environmentId: string, key: string): Promise<VariableView | null> {
    const [row] = await this.db
      .select()
      .from(variables)
      .where(and(eq(variables.environmentId, environmentId), eq(variables.key, key)));
    return row ? { key: row.key, value: this.open(row), updatedAt: row.updatedAt } : null;
  }

  /** Plain values, for building a release. Never logged, never put in a job payload. */
  async plain(environmentId: string): Promise<Record<string, string>> {
    const rows = await this.db.select().from(variables).where(eq(variables.environmentId, environmentId));
    return Object.fromEntries(rows.map((row) => [row.key, this.open(row)]));
  }

  /** Every variable value of every environment of an app: what build output is masked with. */
  async valuesOfApp(appId: string): Promise<string[]> {
    const rows = await this.db
      .select({ variable: variables })
      .from(variables)
      .innerJoin(environments, eq(variables.environmentId, environments.id))
      .where(eq(environments.appId, appId));
    return rows.map((row) => this.open(row.variable));
  }

  /**
   * Copies every variable of one environment to another, in the caller's transaction (a new preview gets
   * staging's). Each value is opened and sealed again for its new row, since a sealed value is bound to its
   * row; none is returned. Keys in `except` are left out. Returns how many were copied.
   */
  async copyAll(tx: Tx, fromEnvironmentId: string, toEnvironmentId: string, except: readonly string[] = []): Promise<number> {
    const rows = (await tx.select().from(variables).where(eq(variables.environmentId, fromEnvironmentId))).filter(
      (row) => !except.includes(row.key),
    );
    if (rows.length === 0) return 0;
    const copies = rows.map((row) => {
      const sealed = this.box.seal(this.open(row), context(toEnvironmentId, row.key));
      return { environmentId: toEnvironmentId, key: row.key, valueCiphertext: sealed.ciphertext, keyId: sealed.keyId };
    });
    await tx.insert(variables).values(copies);
    await tx
      .update(environments)
      .set({ configVersion: sql`${environments.configVersion} + 1`, updatedAt: new Date() })
      .where(eq(environments.id, toEnvironmentId));
    return rows.length;
  }

  /** Sets and unsets in one transaction: all of it is applied, or none. */
  async change(environmentId: string, change: VariableChange): Promise<VariableChangeResult> {
    const set = change.set ?? {};
    const unset = change.unset ?? [];
    for (const key of unset) {
      if (key in set) throw new ValidationError(`unset: ${key} is also in set; choose one`, 'unset');
    }
    return this.db.transaction(async (tx) => {
      await lockEnvironment(tx, environmentId);
      await this.refuseReserved(tx, environmentId, Object.keys(set));
      const now = new Date();
      const rows = Object.entries(set).map(([key, value]) => {
        const sealed = this.box.seal(value, context(environmentId, key));
        return { environmentId, key, valueCiphertext: sealed.ciphertext, keyId: sealed.keyId };
      });
      if (rows.length > 0) {
        await tx
          .insert(variables)
          .values(rows)
          .onConflictDoUpdate({
            target: [variables.environmentId, variables.key],
            set: { valueCiphertext: sql`excluded.value_ciphertext`, keyId: sql`excluded.key_id`, updatedAt: now },
          });
      }
      const removed =
        unset.length === 0
          ? []
          : await tx
              .delete(variables)
              .where(and(eq(variables.environmentId, environmentId), inArray(variables.key, unset)))
              .returning({ key: variables.key });
      if (change.requireExisting && removed.length < unset.length) {
        const missing = unset.filter((key) => !removed.some((r) => r.key === key));
        throw new NotFoundError(`variable ${missing.join(', ')} not found`);
      }
      // Only a real change makes a new config version (and, later, a new release).
      const changed = rows.length > 0 || removed.length > 0;
      const [env] = await tx
        .update(environments)
        .set(
          changed
            ? { configVersion: sql`${environments.configVersion} + 1`, updatedAt: now }
            : { updatedAt: sql`${environments.updatedAt}` },
        )
        .where(eq(environments.id, environmentId))
        .returning({ configVersion: environments.configVersion });
      return {
        set: Object.keys(set),
        unset: removed.map((r) => r.key),
        configVersion: env?.configVersion ?? 0,
      };
    });
  }

  private async refuseReserved(tx: Tx, environmentId: string, keys: string[]): Promise<void> {
    const injected = await injectedKeys(tx, environmentId);
    for (const key of keys) {
      if ((RESERVED_VARIABLE_KEYS as readonly string[]).includes(key)) {
        throw new ValidationError(`set.${key}: ${key} is set by Pier for every container and cannot be overridden`, `set.${key}`);
      }
      if (key.startsWith(RESERVED_VARIABLE_PREFIX)) {
        throw new ValidationError(
          `set.${key}: names starting with ${RESERVED_VARIABLE_PREFIX} are reserved for Pier`,
          `set.${key}`,
        );
      }
      const service = injected.get(key);
      if (service) {
        throw new ValidationError(
          `set.${key}: ${key} is injected by the linked service ${service}; unlink it first or pick another name`,
          `set.${key}`,
        );
      }
    }
  }

  private open(row: typeof variables.$inferSelect): string {
    return this.box.open({ keyId: row.keyId, ciphertext: row.valueCiphertext }, context(row.environmentId, row.key));
  }
}

/** Binds a sealed value to its row: copying ciphertext to another variable makes it unreadable. */
function context(environmentId: string, key: string): string {
  return `variable:${environmentId}:${key}`;
}

async function lockEnvironment(tx: Tx, environmentId: string): Promise<void> {
  const rows = await tx
    .select({ id: environments.id })
    .from(environments)
    .where(eq(environments.id, environmentId))
    .for('update');
  if (rows.length === 0) throw new NotFoundError('environment not found');
}

/** Variable names the environment's linked services inject (URL, PGHOST…, the CA's), mapped to the service's name. */
async function injectedKeys(tx: Tx, environmentId: string): Promise<Map<string, string>> {
  const links = await tx
    .select({
      name: managedServices.name,
      type: managedServices.type,
      variable: serviceLinks.variable,
      urlParams: serviceLinks.urlParams,
    })
    .from(serviceLinks)
    .innerJoin(managedServices, eq(serviceLinks.serviceId, managedServices.id))
    .where(eq(serviceLinks.environmentId, environmentId))
    .orderBy(asc(serviceLinks.createdAt));
  const seen = new Set<string>();
  const keys = new Map<string, string>();
  for (const link of links) {
    const variable = link.variable ?? injectedVariableKey(link.type, link.name, !seen.has(link.type));
    for (const key of linkVariableKeys(link.type, variable, link.urlParams as UrlParams)) keys.set(key, link.name);
    seen.add(link.type);
  }
  for (const key of authorityVariableKeys(links.map((l) => l.type))) {
    keys.set(key, links.find((l) => serviceEngine(l.type).tls)?.name ?? '');
  }
  return keys;
}
