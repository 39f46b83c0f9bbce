import type { ResourceLimits } from '@pier/core';
import type { ReleaseRow, Stores } from '@pier/db';
import { releaseLimits } from './repo-release-settings.ts';

/** The limits of each replica of a process type: the environment's for the type (`PATCH …/processes/:type`) over the release's. */
export async function processLimits(
  stores: Pick<Stores, 'releases' | 'processes'>,
  environmentId: string,
  release: ReleaseRow,
  type: string,
): Promise<ResourceLimits> {
  const own = await stores.processes.get(environmentId, type);
  return releaseLimits(stores.releases.settings(release), { memoryMb: own?.memoryMb ?? null, cpus: own?.cpus ?? null });
}
