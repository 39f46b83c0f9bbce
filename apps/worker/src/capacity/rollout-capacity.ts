import type { CapacityCheck } from '@pier/core';
import type { ReleaseRow, ReleaseStore, ReservationStore } from '@pier/db';
import { releaseLimits } from '../deploy/repo-release-settings.ts';

const MiB = 1024 * 1024;

export interface RolloutCapacityDeps {
  capacity?: CapacityCheck;
  reservations?: Pick<ReservationStore, 'processes' | 'liveMemoryMbByType'>;
  releases: Pick<ReleaseStore, 'settings'>;
}

/**
 * The memory a release's rollout reserves besides what is reserved already:
 * its web replicas, each at its limit, all of them (they start while the old
 * release's still serve); of each other type only what it needs beyond the
 * type's live replicas, which stop as the new ones start. Web's count is the
 * environment's now (`webReplicas`: a rollback's release may have been made
 * at another); another type's is the environment's (1 by default); limits as
 * the replicas get them.
 */
export async function rolloutMemoryBytes(
  deps: Required<Pick<RolloutCapacityDeps, 'reservations'>> & RolloutCapacityDeps,
  environmentId: string,
  release: ReleaseRow,
  webReplicas: number,
): Promise<number> {
  const [own, live] = await Promise.all([
    deps.reservations.processes(environmentId),
    deps.reservations.liveMemoryMbByType(environmentId),
  ]);
  const settings = deps.releases.settings(release);
  let total = 0;
  for (const type of Object.keys((release.processes ?? { web: null }) as Record<string, unknown>)) {
    const row = own.get(type);
    const replicas = type === 'web' ? webReplicas : (row?.replicas ?? 1);
    const needed = replicas * releaseLimits(settings, { memoryMb: row?.memoryMb ?? null }).memoryBytes;
    total += type === 'web' ? needed : Math.max(0, needed - (live.get(type) ?? 0) * MiB);
  }
  return total;
}

/**
 * Why the release may not roll out on this host now, in words and figures a
 * user can act on; null when it fits or there is no guard. Asked before the
 * release command runs, so that a refused release changes no data either.
 */
export async function rolloutCapacityProblem(
  deps: RolloutCapacityDeps,
  target: {
    appId: string;
    appName: string;
    envName: string;
    environmentId: string;
    deploymentId: string;
    webReplicas: number;
  },
  release: ReleaseRow,
): Promise<string | null> {
  const { capacity, reservations } = deps;
  if (!capacity || !reservations) return null;
  const decision = await capacity.check({
    kind: 'rollout',
    action: `rolling out release v${release.version} of ${target.appName}-${target.envName}`,
    memoryBytes: await rolloutMemoryBytes({ ...deps, reservations }, target.environmentId, release, target.webReplicas),
    own: { deploymentId: target.deploymentId },
    subject: { appId: target.appId, environmentId: target.environmentId, envName: target.envName },
  });
  return decision.ok ? null : `not enough capacity: ${decision.reason}`;
}
