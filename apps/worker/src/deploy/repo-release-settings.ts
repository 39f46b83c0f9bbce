import type { EnvironmentRepoConfig, RepoSettings, ResourceLimits } from '@pier/core';
import type { ReleaseSetting } from '@pier/db';
import { DEFAULT_LIMITS } from './replica-spec.ts';

/** How long a release command may run unless `pier.json` says otherwise. */
export const RELEASE_COMMAND_TIMEOUT_MS = 600_000;

/**
 * What a release records of its repository's settings besides port and
 * health, each with where it came from (`releases.settings`, shown in status):
 * the release command, the required variables, the replicas' resources.
 */
export function repoReleaseSettings(file: EnvironmentRepoConfig, repo: RepoSettings | null): Record<string, ReleaseSetting> {
  const settings: Record<string, ReleaseSetting> = {};
  if (file.release) settings.release = { value: file.release, source: 'pier.json' };
  else if (repo?.procfileRelease) settings.release = { value: { command: repo.procfileRelease }, source: 'Procfile' };
  if (file.requiredVariables.length > 0) settings.requiredVariables = { value: file.requiredVariables, source: 'pier.json' };
  if (file.resources) settings.resources = { value: file.resources, source: 'pier.json' };
  return settings;
}

/** The release command's time limit as the release recorded it. */
export function releaseTimeoutMs(settings: Record<string, ReleaseSetting>): number {
  const seconds = (settings.release?.value as { timeoutSeconds?: number } | undefined)?.timeoutSeconds;
  return seconds ? seconds * 1000 : RELEASE_COMMAND_TIMEOUT_MS;
}

/** Each replica's limits: the release's `resources` (pier.json) over the defaults. */
export function releaseLimits(settings: Record<string, ReleaseSetting>): ResourceLimits {
  const resources = settings.resources?.value as { memoryMb?: number; cpus?: number } | undefined;
  return {
    memoryBytes: resources?.memoryMb ? resources.memoryMb * 1024 * 1024 : DEFAULT_LIMITS.memoryBytes,
    nanoCpus: resources?.cpus ? Math.round(resources.cpus * 1e9) : DEFAULT_LIMITS.nanoCpus,
    pids: DEFAULT_LIMITS.pids,
  };
}
