import type { Stores } from '@pier/db';

/**
 * Makes `releaseId` the environment's live release with `replicaIds` serving,
 * through the same two writes a deploy and the reconciler make: a rollout
 * begun, then succeeded. For tests that need a route without running a deploy.
 */
export async function makeLive(
  stores: Pick<Stores, 'rollouts'>,
  environmentId: string,
  releaseId: string,
  replicaIds: string[],
): Promise<void> {
  const rollout = await stores.rollouts.begin({ environmentId, deploymentId: null, toReleaseId: releaseId });
  if (!rollout) throw new Error('a newer rollout exists');
  const switched = await stores.rollouts.succeed(rollout.id, replicaIds, 'test');
  if (!switched) throw new Error(`the rollout to ${releaseId} was not active`);
}
