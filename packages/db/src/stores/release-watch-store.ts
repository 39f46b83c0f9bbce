import {
  type AutoRollbackSettings,
  type AutoRollbackSettingsInput,
  effectiveAutoRollback,
  type ReleaseFigures,
  TERMINAL_STATES,
} from '@pier/core';
import { and, eq, isNotNull, isNull, ne, notInArray, or, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db } from '../client.ts';
import type { ReleaseWatchRow } from '../schema/observability.ts';
import { autoRollbackSettings, deployments, environments, releases, releaseWatches } from '../schema.ts';
import { type DeploymentRow, enqueueReleaseIn, type Tx } from './deployment-store.ts';

/** A watch still under way, with what the watcher needs to judge it and to roll back. */
export interface OpenWatch extends ReleaseWatchRow {
  appId: string;
  envName: string;
  /** The environment's live release now (the watched one, unless something else went live meanwhile). */
  liveReleaseId: string | null;
  version: number;
  previousVersion: number | null;
  previousImageId: string | null;
}

/**
 * What `enqueueAutoRollback` did: queued the rollback; waited, since another
 * deployment of the environment is on its way (waiting for checks, queued,
 * building or deploying: the rollback would supersede it or race it); ended
 * the watch as `replaced`, since the release is no longer live; or nothing,
 * since the watch was decided meanwhile.
 */
export type AutoRollbackOutcome =
  | { kind: 'queued'; deployment: DeploymentRow }
  | { kind: 'in_flight' }
  | { kind: 'not_live' }
  | { kind: 'decided' };

/** The metrics' one-minute buckets (core's FINE_STEP): those the proxies write and a watch reads. */
const MINUTE_STEP = 60;

/**
 * The watch over each release after its rollout made it live
 * (`release_watches`), and each environment's automatic rollback settings
 * (`auto_rollback_settings`, null columns: core's defaults). A watch begins in
 * the rollout's own transaction (`beginReleaseWatch`, from
 * `RolloutStore.succeed`); the worker's release watcher judges the open ones
 * and ends each as `passed`, `replaced` (another release went live) or
 * `rolled_back`, the reason kept. Every end is a compare-and-set on `watching`.
 */
export class ReleaseWatchStore {
  constructor(private readonly db: Db) {}

  /** The settings in force for an environment. */
  async settings(environmentId: string): Promise<AutoRollbackSettings> {
    const [row] = await this.db.select().from(autoRollbackSettings).where(eq(autoRollbackSettings.environmentId, environmentId));
    return effectiveAutoRollback(row);
  }

  /** Changes the settings given (null: back to the default), leaving the others; returns those in force. */
  async updateSettings(environmentId: string, patch: AutoRollbackSettingsInput): Promise<AutoRollbackSettings> {
    const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    await this.db
      .insert(autoRollbackSettings)
      .values({ environmentId, ...set })
      .onConflictDoUpdate({ target: autoRollbackSettings.environmentId, set: { ...set, updatedAt: new Date() } });
    return this.settings(environmentId);
  }

  /** Watches under way, oldest first, each with its environment and the two releases. */
  open(): Promise<OpenWatch[]> {
    return this.select(eq(releaseWatches.state, 'watching'));
  }

  /** Watches that decided to roll back whose rollback is not queued yet (a worker stopped in between). */
  rollbacksToQueue(): Promise<OpenWatch[]> {
    return this.select(
      and(
        eq(releaseWatches.state, 'rolled_back'),
        isNull(releaseWatches.rollbackDeploymentId),
        isNotNull(releaseWatches.previousReleaseId),
      ),
    );
  }

  private async select(where: SQL | undefined): Promise<OpenWatch[]> {
    const previous = alias(releases, 'previous');
    const rows = await this.db
      .select({
        watch: releaseWatches,
        appId: environments.appId,
        envName: environments.name,
        liveReleaseId: environments.liveReleaseId,
        version: releases.version,
        previousVersion: previous.version,
        previousImageId: previous.imageId,
      })
      .from(releaseWatches)
      .innerJoin(environments, eq(environments.id, releaseWatches.environmentId))
      .innerJoin(releases, eq(releases.id, releaseWatches.releaseId))
      .leftJoin(previous, eq(previous.id, releaseWatches.previousReleaseId))
      .where(where)
      .orderBy(releaseWatches.startedAt);
    return rows.map(({ watch, ...rest }) => ({ ...watch, ...rest }));
  }

  /**
   * What one release of an environment did between `from` and `to`: requests
   * the proxies answered and 5xx among them (minute buckets starting in the
   * span, the one holding `from` included), and its restarts.
   */
  async figures(environmentId: string, releaseId: string, from: Date, to: Date): Promise<ReleaseFigures> {
    const [row] = await this.db.execute<{ requests: number; errors: number; restarts: number }>(sql`
      select
        (select coalesce(sum(status_1xx + status_2xx + status_3xx + status_4xx + status_5xx), 0)::float8
           from request_metrics
           where environment_id = ${environmentId} and release_id = ${releaseId} and step = ${MINUTE_STEP}
             and at >= date_trunc('minute', ${from.toISOString()}::timestamptz) and at <= ${to.toISOString()}::timestamptz) as requests,
        (select coalesce(sum(status_5xx), 0)::float8
           from request_metrics
           where environment_id = ${environmentId} and release_id = ${releaseId} and step = ${MINUTE_STEP}
             and at >= date_trunc('minute', ${from.toISOString()}::timestamptz) and at <= ${to.toISOString()}::timestamptz) as errors,
        (select coalesce(sum(restarts), 0)::float8
           from restart_metrics
           where environment_id = ${environmentId} and release_id = ${releaseId} and step = ${MINUTE_STEP}
             and at >= date_trunc('minute', ${from.toISOString()}::timestamptz) and at <= ${to.toISOString()}::timestamptz) as restarts`);
    return { requests: Number(row?.requests ?? 0), errors: Number(row?.errors ?? 0), restarts: Number(row?.restarts ?? 0) };
  }

  /**
   * Rolls the watched release back to the one before it, in one transaction
   * that locks the environment row: only while the watched release is still
   * the live one and no other deployment of the environment is on its way
   * (any state not final), so a rollback never supersedes the user's fix nor
   * rolls back a release something else already replaced. The watch is ended
   * as `rolled_back` with `reason` (or keeps the decision a stopped worker
   * left), the deployment of the previous release and its outbox entry are
   * written, and the watch keeps its id, all or nothing.
   */
  async enqueueAutoRollback(watch: OpenWatch, reason: string): Promise<AutoRollbackOutcome> {
    const { previousReleaseId, previousImageId } = watch;
    if (!previousReleaseId || !previousImageId) return { kind: 'decided' };
    return this.db.transaction(async (t) => {
      const [env] = await t
        .select({ liveReleaseId: environments.liveReleaseId })
        .from(environments)
        .where(eq(environments.id, watch.environmentId))
        .for('update');
      const pending = and(
        eq(releaseWatches.releaseId, watch.releaseId),
        or(
          eq(releaseWatches.state, 'watching'),
          and(eq(releaseWatches.state, 'rolled_back'), isNull(releaseWatches.rollbackDeploymentId)),
        ),
      );
      if (env?.liveReleaseId !== watch.releaseId) {
        const ended = await t
          .update(releaseWatches)
          .set({ state: 'replaced', reason: 'another release is live', finishedAt: new Date() })
          .where(pending)
          .returning({ id: releaseWatches.releaseId });
        return { kind: ended.length > 0 ? 'not_live' : 'decided' };
      }
      const [busy] = await t
        .select({ id: deployments.id })
        .from(deployments)
        .where(and(eq(deployments.environmentId, watch.environmentId), notInArray(deployments.state, [...TERMINAL_STATES])))
        .limit(1);
      if (busy) return { kind: 'in_flight' };
      const [decided] = await t
        .update(releaseWatches)
        .set({
          state: 'rolled_back',
          reason: sql`coalesce(${releaseWatches.reason}, ${reason})`,
          finishedAt: sql`coalesce(${releaseWatches.finishedAt}, now())`,
        })
        .where(pending)
        .returning({ id: releaseWatches.releaseId });
      if (!decided) return { kind: 'decided' };
      const deployment = await enqueueReleaseIn(t, {
        appId: watch.appId,
        environmentId: watch.environmentId,
        trigger: 'rollback',
        releaseId: previousReleaseId,
        imageId: previousImageId,
        commitSha: null,
      });
      await t
        .update(releaseWatches)
        .set({ rollbackDeploymentId: deployment.id })
        .where(eq(releaseWatches.releaseId, watch.releaseId));
      return { kind: 'queued', deployment };
    });
  }

  /** The window ended (or the watch cannot judge any more): `passed`. False when it was no longer watching. */
  async pass(releaseId: string, reason: string | null = null): Promise<boolean> {
    return this.end(releaseId, 'passed', reason);
  }

  /** The release is to be rolled back, for `reason`; the watcher queues the rollback next. False when it was no longer watching. */
  async decideRollback(releaseId: string, reason: string): Promise<boolean> {
    return this.end(releaseId, 'rolled_back', reason);
  }

  /** The watch of one release, if it had one. */
  async ofRelease(releaseId: string): Promise<ReleaseWatchRow | null> {
    const [row] = await this.db.select().from(releaseWatches).where(eq(releaseWatches.releaseId, releaseId));
    return row ?? null;
  }

  /** The watches of an environment's releases, by release id. */
  async ofEnvironment(environmentId: string): Promise<Map<string, ReleaseWatchRow>> {
    const rows = await this.db.select().from(releaseWatches).where(eq(releaseWatches.environmentId, environmentId));
    return new Map(rows.map((r) => [r.releaseId, r]));
  }

  private async end(releaseId: string, state: 'passed' | 'rolled_back', reason: string | null): Promise<boolean> {
    const rows = await this.db
      .update(releaseWatches)
      .set({ state, reason, finishedAt: new Date() })
      .where(and(eq(releaseWatches.releaseId, releaseId), eq(releaseWatches.state, 'watching')))
      .returning({ id: releaseWatches.releaseId });
    return rows.length > 0;
  }
}

/** What `RolloutStore.succeed` knows of the rollout that just made a release live. */
export interface LiveSwitch {
  environmentId: string;
  deploymentId: string | null;
  fromReleaseId: string | null;
  toReleaseId: string;
}

/**
 * In the transaction that makes `toReleaseId` live: any other release's watch
 * of the environment ends (`replaced`), and the new release is watched until
 * now + the window, unless the switch is itself a rollback (an automatic one
 * must not be watched in turn: no ping-pong), nothing was live before it (no
 * baseline), automatic rollback is off, or the switch has no deployment.
 * A release rolled back once keeps that verdict if it goes live again.
 */
export async function beginReleaseWatch(tx: Tx, live: LiveSwitch): Promise<void> {
  const now = new Date();
  await tx
    .update(releaseWatches)
    .set({ state: 'replaced', finishedAt: now })
    .where(
      and(
        eq(releaseWatches.environmentId, live.environmentId),
        eq(releaseWatches.state, 'watching'),
        ne(releaseWatches.releaseId, live.toReleaseId),
      ),
    );
  if (!live.deploymentId || !live.fromReleaseId || live.fromReleaseId === live.toReleaseId) return;
  const [deployment] = await tx
    .select({ trigger: deployments.trigger })
    .from(deployments)
    .where(eq(deployments.id, live.deploymentId));
  if (!deployment || deployment.trigger === 'rollback') return;
  const [stored] = await tx.select().from(autoRollbackSettings).where(eq(autoRollbackSettings.environmentId, live.environmentId));
  const settings = effectiveAutoRollback(stored);
  if (!settings.enabled) return;
  const until = sql`now() + ${settings.windowSeconds}::int * interval '1 second'`;
  await tx
    .insert(releaseWatches)
    .values({
      releaseId: live.toReleaseId,
      environmentId: live.environmentId,
      previousReleaseId: live.fromReleaseId,
      until,
    })
    .onConflictDoUpdate({
      target: releaseWatches.releaseId,
      set: {
        previousReleaseId: live.fromReleaseId,
        startedAt: sql`now()`,
        until,
        state: 'watching',
        reason: null,
        rollbackDeploymentId: null,
        finishedAt: null,
      },
      setWhere: sql`${releaseWatches.state} <> 'rolled_back'`,
    });
}
