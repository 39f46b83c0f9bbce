import { type Db, ROUTES_CHANNEL, schema } from '@pier/db';
import { eq, inArray, sql } from 'drizzle-orm';

/**
 * Makes `releaseId` the environment's live release with `replicaIds` serving,
 * as a finished deploy leaves it: a succeeded rollout, the release desired and
 * live, the replicas serving, the route notified. One transaction, so that a
 * worker's reconciler running meanwhile never sees a rollout under way (it
 * would gate these replicas itself). For tests that need a route without
 * running a deploy.
 */
export async function makeLive(db: Db, environmentId: string, releaseId: string, replicaIds: string[]): Promise<void> {
  await db.transaction(async (tx) => {
    const [env] = await tx.select().from(schema.environments).where(eq(schema.environments.id, environmentId));
    if (!env) throw new Error(`environment ${environmentId} not found`);
    await tx.insert(schema.rollouts).values({
      environmentId,
      deploymentId: null,
      fromReleaseId: env.liveReleaseId,
      toReleaseId: releaseId,
      state: 'succeeded',
      finishedAt: new Date(),
    });
    if (replicaIds.length > 0) {
      await tx.update(schema.replicas).set({ state: 'serving', healthy: true }).where(inArray(schema.replicas.id, replicaIds));
    }
    await tx
      .update(schema.environments)
      .set({ desiredReleaseId: releaseId, liveReleaseId: releaseId })
      .where(eq(schema.environments.id, environmentId));
    await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${environmentId})`);
  });
}
