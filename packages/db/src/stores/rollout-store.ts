import { and, desc, eq, gt, inArray, ne, sql } from 'drizzle-orm';
import { ROLLOUTS_CHANNEL, ROUTES_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { deployments, environmentProcesses, environments, replicas, rollouts } from '../schema.ts';
import { markLiveIn, recordTransition, type Tx } from './deployment-store.ts';
import { beginReleaseWatch } from './release-watch-store.ts';
import type { ReplicaRow } from './replica-store.ts';

export type RolloutRow = typeof rollouts.$inferSelect;

/**
 * Rollouts: the record of one change of an environment's release. `begin` is
 * all a deploy writes (the desired release and the rollout, in one
 * transaction); the reconciler ends each one with `succeed` or `fail`, each
 * one transaction over the rollout, the environment, its replicas and the
 * deployment.
 */
export class RolloutStore {
  constructor(private readonly db: Db) {}

  /**
   * Makes `toReleaseId` the environment's desired release and records the
   * rollout to it, superseding the active one (its deployment too). Idempotent
   * per deployment: a retried deploy job gets the rollout it already began.
   * Latest wins: a deployment queued before the one of the environment's
   * newest rollout begins nothing (a deploy job that ran late, or again after
   * a crash, never rolls an environment back); it is superseded, and the
   * answer is null.
   */
  /** True when a deployment of the environment queued after `deploymentId` has begun a rollout: `begin` would supersede it. */
  async newerBegun(environmentId: string, deploymentId: string): Promise<boolean> {
    const [mine] = await this.db
      .select({ queuedAt: deployments.queuedAt })
      .from(deployments)
      .where(eq(deployments.id, deploymentId));
    if (!mine) return false;
    const [newer] = await this.db
      .select({ id: deployments.id })
      .from(rollouts)
      .innerJoin(deployments, eq(deployments.id, rollouts.deploymentId))
      .where(and(eq(rollouts.environmentId, environmentId), gt(deployments.queuedAt, mine.queuedAt)))
      .limit(1);
    return newer !== undefined;
  }

  async begin(input: { environmentId: string; deploymentId: string | null; toReleaseId: string }): Promise<RolloutRow | null> {
    return this.db.transaction(async (tx) => {
      const [env] = await tx.select().from(environments).where(eq(environments.id, input.environmentId)).for('update');
      if (!env) throw new Error(`environment ${input.environmentId} not found`);
      if (input.deploymentId) {
        const [existing] = await tx.select().from(rollouts).where(eq(rollouts.deploymentId, input.deploymentId));
        if (existing) return existing;
        const [mine] = await tx.select().from(deployments).where(eq(deployments.id, input.deploymentId));
        const [newer] = mine
          ? await tx
              .select({ id: deployments.id })
              .from(rollouts)
              .innerJoin(deployments, eq(deployments.id, rollouts.deploymentId))
              .where(and(eq(rollouts.environmentId, input.environmentId), gt(deployments.queuedAt, mine.queuedAt)))
              .limit(1)
          : [];
        if (newer) {
          await supersedeDeployment(tx, input.deploymentId, newer.id);
          return null;
        }
      }
      const superseded = await tx
        .update(rollouts)
        .set({ state: 'superseded', reason: 'a newer rollout took its place', finishedAt: new Date() })
        .where(and(eq(rollouts.environmentId, input.environmentId), eq(rollouts.state, 'active')))
        .returning();
      for (const old of superseded) await supersedeDeployment(tx, old.deploymentId, input.deploymentId);
      const [row] = await tx
        .insert(rollouts)
        .values({
          environmentId: input.environmentId,
          deploymentId: input.deploymentId,
          fromReleaseId: env.liveReleaseId,
          toReleaseId: input.toReleaseId,
        })
        .returning();
      if (!row) throw new Error('insert returned no row');
      await tx
        .update(environments)
        .set({ desiredReleaseId: input.toReleaseId, updatedAt: new Date() })
        .where(eq(environments.id, input.environmentId));
      await tx.execute(sql`select pg_notify(${ROLLOUTS_CHANNEL}, ${input.environmentId})`);
      return row;
    });
  }

  async get(id: string): Promise<RolloutRow | null> {
    const [row] = await this.db.select().from(rollouts).where(eq(rollouts.id, id));
    return row ?? null;
  }

  /** The environment's newest rollout, for its status. */
  async latest(environmentId: string): Promise<RolloutRow | null> {
    const [row] = await this.db
      .select()
      .from(rollouts)
      .where(eq(rollouts.environmentId, environmentId))
      .orderBy(desc(rollouts.createdAt))
      .limit(1);
    return row ?? null;
  }

  /** Rollouts of one deployment (at most one), for its status. */
  async ofDeployment(deploymentId: string): Promise<RolloutRow | null> {
    const [row] = await this.db.select().from(rollouts).where(eq(rollouts.deploymentId, deploymentId));
    return row ?? null;
  }

  /**
   * The rollout passed its gates: `replicaIds` serve, every other serving
   * replica of the environment (of another release) drains, the release is
   * live, and so is the deployment (the one live before is superseded); the
   * release's watch after its rollout begins (`beginReleaseWatch`). Null
   * when the rollout is no longer active (superseded meanwhile): nothing
   * changes. Otherwise the replicas now draining.
   */
  async succeed(rolloutId: string, replicaIds: readonly string[], message: string): Promise<ReplicaRow[] | null> {
    return this.db.transaction(async (tx) => {
      const [rollout] = await tx.select().from(rollouts).where(eq(rollouts.id, rolloutId)).for('update');
      if (rollout?.state !== 'active') return null;
      await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, rollout.environmentId)).for('update');
      const now = new Date();
      if (replicaIds.length > 0) {
        await tx
          .update(replicas)
          .set({ state: 'serving', healthy: true, unhealthySince: null, updatedAt: now })
          .where(and(inArray(replicas.id, [...replicaIds]), eq(replicas.environmentId, rollout.environmentId)));
      }
      const draining = await tx
        .update(replicas)
        .set({ state: 'draining', updatedAt: now })
        .where(
          and(
            eq(replicas.environmentId, rollout.environmentId),
            eq(replicas.state, 'serving'),
            // The other process types follow the live release on their own (stopped with a grace, not drained).
            eq(replicas.processType, 'web'),
            ne(replicas.releaseId, rollout.toReleaseId),
          ),
        )
        .returning();
      await tx
        .update(environments)
        .set({ liveReleaseId: rollout.toReleaseId, desiredReleaseId: rollout.toReleaseId, updatedAt: now })
        .where(eq(environments.id, rollout.environmentId));
      // The other process types start afresh with the new release: an old release's crash streak does not delay them.
      await tx
        .update(environmentProcesses)
        .set({ restartStreak: 0, nextRestartAt: null, health: 'ok', updatedAt: now })
        .where(eq(environmentProcesses.environmentId, rollout.environmentId));
      await tx.update(rollouts).set({ state: 'succeeded', finishedAt: now }).where(eq(rollouts.id, rolloutId));
      if (rollout.deploymentId) await markLiveIn(tx, rollout.deploymentId, message);
      // The new release is watched for an error spike from now on (release-watch-store.ts).
      await beginReleaseWatch(tx, rollout);
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${rollout.environmentId})`);
      return draining;
    });
  }

  /**
   * The rollout cannot finish: it fails with `reason` (already masked), the
   * desired release goes back to the live one (which kept serving), and its
   * deployment fails with the same reason. False when it was no longer active.
   */
  async fail(rolloutId: string, reason: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [rollout] = await tx.select().from(rollouts).where(eq(rollouts.id, rolloutId)).for('update');
      if (rollout?.state !== 'active') return false;
      const [env] = await tx.select().from(environments).where(eq(environments.id, rollout.environmentId)).for('update');
      const now = new Date();
      await tx.update(rollouts).set({ state: 'failed', reason, finishedAt: now }).where(eq(rollouts.id, rolloutId));
      if (env && env.desiredReleaseId === rollout.toReleaseId) {
        await tx
          .update(environments)
          .set({ desiredReleaseId: env.liveReleaseId, updatedAt: now })
          .where(eq(environments.id, env.id));
      }
      if (rollout.deploymentId) {
        const [deployment] = await tx.select().from(deployments).where(eq(deployments.id, rollout.deploymentId)).for('update');
        if (deployment?.state === 'deploying') await recordTransition(tx, deployment, 'failed', { reason, finishedAt: now });
      }
      await tx.execute(sql`select pg_notify(${ROLLOUTS_CHANNEL}, ${rollout.environmentId})`);
      return true;
    });
  }
}

/** The deployment of a superseded rollout, still deploying, is superseded too. */
async function supersedeDeployment(tx: Tx, deploymentId: string | null, by: string | null): Promise<void> {
  if (!deploymentId) return;
  const [row] = await tx.select().from(deployments).where(eq(deployments.id, deploymentId)).for('update');
  if (row?.state !== 'deploying') return;
  await recordTransition(tx, row, 'superseded', { finishedAt: new Date() }, `superseded by ${by ?? 'a newer rollout'}`);
}
