import type { CapacityCheck } from '@pier/core';
import type { ReleaseRow, ReleaseStore, ReservationStore } from '@pier/db';
import { releaseLimits } from '../deploy/repo-release-settings.ts';

export interface RolloutCapacityDeps {
  capacity?: CapacityCheck;
  reservations?: Pick<ReservationStore, 'processes'>;
  releases: Pick<ReleaseStore, 'settings'>;
}

/**
 * The memory a release's rollout reserves: the replicas of every process type
 * of the release, each at its limit, started while the old release's still
 * run (they are reserved already). Web's count is the release's; another
 * type's is the environment's (1 by default); limits as the replicas get them.
 */
export async function rolloutMemoryBytes(
  deps: Required<Pick<RolloutCapacityDeps, 'reservations'>> & RolloutCapacityDeps,
  environmentId: string,
  release: ReleaseRow,
): Promise<number> {
  const own = await deps.reservations.processes(environmentId);
  const settings = deps.releases.settings(release);
  let total = 0;
  for (const type of Object.keys((release.processes ?? { web: null }) as Record<string, unknown>)) {
    const row = own.get(type);
    const replicas = type === 'web' ? release.replicas : (row?.replicas ?? 1);
    total += replicas * releaseLimits(settings, { memoryMb: row?.memoryMb ?? null }).memoryBytes;
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
  target: { appName: string; envName: string; environmentId: string; deploymentId: string },
  release: ReleaseRow,
): Promise<string | null> {
  const { capacity, reservations } = deps;
  if (!capacity || !reservations) return null;
  const decision = await capacity.check({
    kind: 'rollout',
    action: `rolling out release v${release.version} of ${target.appName}-${target.envName}`,
    memoryBytes: await rolloutMemoryBytes({ ...deps, reservations }, target.environmentId, release),
    own: { deploymentId: target.deploymentId },
  });
  return decision.ok ? null : `not enough capacity: ${decision.reason}`;
}
