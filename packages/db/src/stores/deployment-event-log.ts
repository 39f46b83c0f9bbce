import { type DeploymentMoment, deploymentEvent, EVENT_KINDS, type NewEvent } from '@pier/core';
import { eq, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { EVENTS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { apps, deployments, environments, events, releases } from '../schema.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Records `event` inside the caller's transaction, so it exists exactly when
 * the change it reports commits (and its NOTIFY is sent then). A savepoint
 * keeps a recording that fails from failing the caller's change: it is
 * logged and dropped, as `EventStore.record` does.
 */
export async function recordEventIn(tx: Tx | Db, event: NewEvent): Promise<void> {
  try {
    await tx.transaction((savepoint) => insertEvent(savepoint, event));
  } catch (error) {
    process.stderr.write(`pier: could not record a ${event.kind} event: ${(error as Error).message}\n`);
  }
}

/**
 * Inserts `event` and NOTIFYs `pier_events` with its id: the one way an
 * event is written (`EventStore` and `recordEventIn` use it). Null when its
 * `dedupeKey` was recorded before; throws when it cannot be written.
 */
export async function insertEvent(db: Tx | Db, event: NewEvent): Promise<number | null> {
  const rows = await db
    .insert(events)
    .values({
      kind: event.kind,
      severity: EVENT_KINDS[event.kind].severity,
      message: event.message,
      appId: event.appId ?? null,
      environmentId: event.environmentId ?? null,
      envName: event.envName ?? null,
      data: event.data ?? {},
      dedupeKey: event.dedupeKey ?? null,
    })
    .onConflictDoNothing()
    .returning({ id: events.id });
  const id = rows[0]?.id ?? null;
  if (id !== null) await db.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${String(id)})`);
  return id;
}

const live = alias(releases, 'live_release');

/**
 * Records the event of deployment `id` reaching `moment` (queued, live,
 * failed) in `tx`, after the move itself was written: every path that
 * records a deployment (the api, the webhooks, the worker) goes through the
 * store functions that call this, so none is missed. Its text is core's
 * `deploymentEvent`.
 */
export async function recordDeploymentEvent(tx: Tx, id: string, moment: DeploymentMoment): Promise<void> {
  const [row] = await tx
    .select({
      deploymentId: deployments.id,
      trigger: deployments.trigger,
      appId: deployments.appId,
      appName: apps.name,
      environmentId: deployments.environmentId,
      envName: environments.name,
      version: releases.version,
      liveVersion: live.version,
      commitSha: deployments.commitSha,
      reason: deployments.reason,
    })
    .from(deployments)
    .innerJoin(apps, eq(apps.id, deployments.appId))
    .innerJoin(environments, eq(environments.id, deployments.environmentId))
    .leftJoin(releases, eq(releases.id, deployments.releaseId))
    .leftJoin(live, eq(live.id, environments.liveReleaseId))
    .where(eq(deployments.id, id));
  if (!row) return;
  await recordEventIn(tx, deploymentEvent(row, moment));
}
