import { assertTransition, type DeploymentState } from '@pier/core';
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { deploymentEvents, deployments, environments } from '../schema.ts';
import { recordDeploymentEvent } from './deployment-event-log.ts';

type DeploymentRow = typeof deployments.$inferSelect;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Moves of deployment rows inside a caller's transaction, shared by the
 * stores that record deployments (deployments, commit checks, rollouts).
 */

/**
 * Locks the environment and supersedes its queued deployments and those
 * waiting for checks: the one about to be written wins. Returns them with
 * the state each was in.
 */
export async function supersedeQueued(t: Tx, environmentId: string): Promise<{ id: string; state: DeploymentState }[]> {
  await t.select({ id: environments.id }).from(environments).where(eq(environments.id, environmentId)).for('update');
  const older = await t
    .select({ id: deployments.id, state: deployments.state })
    .from(deployments)
    .where(and(eq(deployments.environmentId, environmentId), inArray(deployments.state, ['queued', 'waiting_for_checks'])))
    .for('update');
  if (older.length === 0) return [];
  await t
    .update(deployments)
    .set({ state: 'superseded', finishedAt: new Date(), reason: 'a newer deployment of this environment was queued' })
    .where(
      inArray(
        deployments.id,
        older.map((o) => o.id),
      ),
    );
  return older;
}

/** The events of deployments `supersedeQueued` superseded for `byId`. */
export function supersededEvents(older: { id: string; state: DeploymentState }[], byId: string) {
  return older.map((o) => ({
    deploymentId: o.id,
    fromState: o.state,
    toState: 'superseded' as const,
    message: `superseded by ${byId}`,
  }));
}

/** Moves a deployment row (read for update in `tx`) to `to`, with its event. */
export async function recordTransition(
  tx: Tx,
  row: DeploymentRow,
  to: DeploymentState,
  patch: Partial<Omit<DeploymentRow, 'id' | 'state'>> = {},
  message?: string,
): Promise<void> {
  assertTransition(row.state, to);
  await tx
    .update(deployments)
    .set({ ...patch, state: to })
    .where(eq(deployments.id, row.id));
  await tx.insert(deploymentEvents).values({
    deploymentId: row.id,
    fromState: row.state,
    toState: to,
    message: message ?? patch.reason ?? null,
  });
  // The event log hears of every deployment queued (after its checks), live or failed, from this one place.
  if (to === 'queued' || to === 'live' || to === 'failed') await recordDeploymentEvent(tx, row.id, to);
}

/** The deployment went live (in `tx`); the environment's previously live deployments are superseded. */
export async function markLiveIn(tx: Tx, id: string, message: string): Promise<void> {
  const [row] = await tx.select().from(deployments).where(eq(deployments.id, id)).for('update');
  if (row?.state !== 'deploying') return;
  const previous = await tx
    .update(deployments)
    .set({ state: 'superseded' })
    .where(and(eq(deployments.environmentId, row.environmentId), eq(deployments.state, 'live')))
    .returning({ id: deployments.id });
  if (previous.length > 0) {
    await tx.insert(deploymentEvents).values(
      previous.map((p) => ({
        deploymentId: p.id,
        fromState: 'live' as const,
        toState: 'superseded' as const,
        message: `replaced by ${id}`,
      })),
    );
  }
  await recordTransition(tx, row, 'live', { finishedAt: new Date() }, message);
}
