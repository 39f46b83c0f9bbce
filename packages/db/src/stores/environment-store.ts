import {
  type AppQuotas,
  ConflictError,
  NotFoundError,
  PROTECTED_ENVIRONMENTS,
  QuotaRefusedError,
  quotaProblem,
} from '@pier/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import { ROUTES_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { apps, environments } from '../schema.ts';
import { assertWithinQuotas, lockAppUsage } from './app-usage.ts';
import { environmentNameClash, environmentNames, isEnvironmentNameClash } from './environment-names.ts';
import { isUniqueViolation } from './pg-errors.ts';
import { scheduleOwnedServiceDeletion } from './service-store.ts';

export type EnvironmentRow = typeof environments.$inferSelect;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A pull request's preview environment, as the webhook asks for it. */
export interface PreviewRequest {
  appId: string;
  appName: string;
  pullRequest: number;
  /** `pr-<number>`. */
  name: string;
  fromFork: boolean;
  /** The environment whose health check and drain settings a new preview copies (staging); absent: defaults. */
  templateName: string;
  /** The app's caps: a new preview must fit its previews, fork previews and replicas. */
  quotas?: AppQuotas;
}

export type PreviewEnsured =
  | { kind: 'ready'; environment: EnvironmentRow; created: boolean; template: EnvironmentRow | null }
  /** `quota`: refused for one of the app's quotas (recorded as a `quota.refused` event). */
  | { kind: 'refused'; reason: string; quota?: boolean };

export interface EnvironmentSettings {
  branch?: string | null;
  tagPattern?: string | null;
  replicas?: number;
  /** A path, `tcp`, or null: automatic. */
  healthPath?: string | null;
  /** Port the app listens on; null: pier.json, else the image's one EXPOSEd port, else 8080. */
  port?: number | null;
  healthIntervalMs?: number;
  healthTimeoutMs?: number;
  healthyThreshold?: number;
  healthDeadlineMs?: number;
  drainTimeoutMs?: number;
  /** Pushes wait for GitHub's checks of their commit; null: the default (staging, once the repository reports checks). */
  waitForChecks?: boolean | null;
  /** Check names that must pass; null: every check reported. */
  requiredChecks?: string[] | null;
  checksTimeoutMs?: number;
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

  /** Creates an environment; with `quotas`, refused (ConflictError) when it passes the app's environments or replicas. */
  async create(appId: string, name: string, settings: EnvironmentSettings, quotas?: AppQuotas): Promise<EnvironmentRow> {
    const [app] = await this.db.select({ name: apps.name }).from(apps).where(eq(apps.id, appId));
    if (!app) throw new NotFoundError('app not found');
    // Also catches a clash with environments older than the unique names (the indexes catch the rest, races included).
    const clash = await environmentNameClash(this.db, app.name, name);
    if (clash) throw new ConflictError(`name: ${clash}`);
    try {
      return await this.db.transaction(async (tx) => {
        if (quotas) {
          await assertWithinQuotas(tx, appId, quotas, { environments: 1 }, 'name');
          await assertWithinQuotas(tx, appId, quotas, { replicas: settings.replicas ?? 1 }, 'replicas');
        }
        const [env] = await tx
          .insert(environments)
          .values({ ...settings, appId, name, ...environmentNames(app.name, name) })
          .returning();
        if (!env) throw new Error('insert returned no row');
        return env;
      });
    } catch (err) {
      if (isEnvironmentNameClash(err)) {
        const clash = await environmentNameClash(this.db, app.name, name);
        throw new ConflictError(`name: ${clash ?? `${app.name}/${name} clashes with another app's environment`}`);
      }
      if (isUniqueViolation(err)) throw new ConflictError(`environment ${name} already exists`);
      throw err;
    }
  }

  /** Changes settings; with `quotas`, more replicas than the app's quota allows are refused (ConflictError). */
  async update(appId: string, name: string, settings: EnvironmentSettings, quotas?: AppQuotas): Promise<EnvironmentRow> {
    return this.db.transaction(async (tx) => {
      if (quotas && settings.replicas !== undefined) {
        const usage = await lockAppUsage(tx, appId);
        const [current] = await tx
          .select({ replicas: environments.replicas })
          .from(environments)
          .where(and(eq(environments.appId, appId), eq(environments.name, name)));
        const problem = current ? quotaProblem(quotas, usage, { replicas: settings.replicas - current.replicas }) : undefined;
        if (problem) throw new QuotaRefusedError(`replicas: ${problem}`, appId, name);
      }
      const [env] = await tx
        .update(environments)
        .set({ ...settings, updatedAt: new Date() })
        .where(and(eq(environments.appId, appId), eq(environments.name, name)))
        .returning();
      if (!env) throw new NotFoundError(`environment ${name} not found`);
      return env;
    });
  }

  async delete(appId: string, name: string): Promise<void> {
    if ((PROTECTED_ENVIRONMENTS as readonly string[]).includes(name)) {
      throw new ConflictError(`environment ${name} cannot be deleted; delete the app instead`);
    }
    await this.db.transaction(async (tx) => {
      const [found] = await tx
        .select({ id: environments.id })
        .from(environments)
        .where(and(eq(environments.appId, appId), eq(environments.name, name)))
        .for('update');
      if (!found) throw new NotFoundError(`environment ${name} not found`);
      // Its own services (a preview's database) go with it.
      await scheduleOwnedServiceDeletion(tx, found.id);
      const [deleted] = await tx.delete(environments).where(eq(environments.id, found.id)).returning({ id: environments.id });
      if (!deleted) throw new NotFoundError(`environment ${name} not found`);
      // Its replicas went with it: the proxy drops the route now rather than at its next full reload.
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${deleted.id})`);
    });
  }
}

/**
 * In the caller's transaction (the webhook delivery's): the preview of `request.pullRequest`, created (one
 * replica, no triggers, the template's health settings) unless it exists, and locked until the transaction
 * ends. Refused when an environment of that name exists but previews another pull request, or none, or its
 * fork status differs.
 */
export async function ensurePreviewEnvironment(tx: Tx, request: PreviewRequest): Promise<PreviewEnsured> {
  const { appId, name } = request;
  const [template] = await tx
    .select()
    .from(environments)
    .where(and(eq(environments.appId, appId), eq(environments.name, request.templateName)));
  const [mine] = await tx
    .select({ id: environments.id })
    .from(environments)
    .where(and(eq(environments.appId, appId), eq(environments.name, name)));
  const clash = mine ? undefined : await environmentNameClash(tx, request.appName, name);
  if (clash) return { kind: 'refused', reason: clash };
  if (!mine && request.quotas) {
    // A flood of pull requests (forks above all) stops at the app's caps, before a network or a container exists.
    const added = { previews: 1, forkPreviews: request.fromFork ? 1 : 0, replicas: 1 };
    const problem = quotaProblem(request.quotas, await lockAppUsage(tx, appId), added);
    if (problem)
      return { kind: 'refused', reason: `no preview for pull request #${request.pullRequest}: ${problem}`, quota: true };
  }
  const [inserted] = await tx
    .insert(environments)
    .values({
      ...previewSettings(template),
      appId,
      name,
      pullRequest: request.pullRequest,
      fromFork: request.fromFork,
      ...environmentNames(request.appName, name),
    })
    // Any unique index: the same preview exists, or another app's environment has its network or hostname.
    .onConflictDoNothing()
    .returning();
  if (inserted) return { kind: 'ready', environment: inserted, created: true, template: template ?? null };
  const [existing] = await tx
    .select()
    .from(environments)
    .where(and(eq(environments.appId, appId), eq(environments.name, name)))
    .for('update');
  if (!existing) {
    const clash = await environmentNameClash(tx, request.appName, name);
    if (clash) return { kind: 'refused', reason: clash };
    throw new ConflictError(`environment ${name} was deleted while it was being updated; try again`);
  }
  if (existing.pullRequest !== request.pullRequest) {
    return {
      kind: 'refused',
      reason: `environment ${name} exists and is not the preview of pull request #${request.pullRequest}`,
    };
  }
  if (existing.fromFork !== request.fromFork) {
    return { kind: 'refused', reason: `pull request #${request.pullRequest} changed between a fork and the repository` };
  }
  return { kind: 'ready', environment: existing, created: false, template: null };
}

/**
 * In the caller's transaction: deletes the preview of a pull request (its deployments, releases, replicas and
 * variables cascade) and tells the proxy, which drops its route. The worker's reconciler removes the containers
 * and the network. `beforeDelete` runs first, with the row locked. Null when there was none.
 */
export async function deletePreviewEnvironment(
  tx: Tx,
  appId: string,
  pullRequest: number,
  beforeDelete?: (environment: EnvironmentRow) => Promise<void>,
): Promise<EnvironmentRow | null> {
  const [environment] = await tx
    .select()
    .from(environments)
    .where(and(eq(environments.appId, appId), eq(environments.pullRequest, pullRequest)))
    .for('update');
  if (!environment) return null;
  await beforeDelete?.(environment);
  await tx.delete(environments).where(eq(environments.id, environment.id));
  await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${environment.id})`);
  return environment;
}

/** A new preview: one replica, no branch or tag trigger, the template's health check, port and drain timeout. */
function previewSettings(template: EnvironmentRow | undefined) {
  const health = template
    ? {
        healthPath: template.healthPath,
        port: template.port,
        healthIntervalMs: template.healthIntervalMs,
        healthTimeoutMs: template.healthTimeoutMs,
        healthyThreshold: template.healthyThreshold,
        healthDeadlineMs: template.healthDeadlineMs,
        drainTimeoutMs: template.drainTimeoutMs,
      }
    : {};
  return { ...health, branch: null, tagPattern: null, replicas: 1 };
}
