import { type EnvironmentRepoConfig, type RepoSettings, type ResourceLimits, ValidationError } from '@pier/core';
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

/** Process types a release may run: each is one or more replicas on one box. */
export const MAX_PROCESS_TYPES = 10;

/**
 * A release's process types and their commands (null: the image's own), and
 * where they came from: `pier.json`'s `processes` (this environment's view),
 * else the Procfile's types, else one `web` process. Web runs the image's
 * command unless `pier.json` names one (a generated image already runs the
 * Procfile's `web:` line; a Dockerfile's CMD is the app's own choice), and is
 * there even when not declared: a `pier.json` or Procfile that lists only a
 * worker adds it to the app's web. Only a generated image built from a
 * Procfile without `web:` (its command is a worker's) has no web: it serves
 * no traffic. More than MAX_PROCESS_TYPES types is refused.
 */
export function releaseProcesses(
  file: EnvironmentRepoConfig,
  repo: RepoSettings | null,
): { processes: Record<string, string | null>; source: 'pier.json' | 'Procfile' | 'default' } {
  const fromFile = file.processes && Object.keys(file.processes).length > 0 ? file.processes : undefined;
  const fromProcfile =
    repo?.procfileProcesses && Object.keys(repo.procfileProcesses).length > 0 ? repo.procfileProcesses : undefined;
  const declared = fromFile ?? fromProcfile;
  if (!declared) return { processes: { web: null }, source: 'default' };
  const { web, ...others } = declared;
  const withWeb = web !== undefined || !repo?.procfileWebless;
  const processes: Record<string, string | null> = {
    ...(withWeb ? { web: fromFile && web !== undefined ? web : null } : {}),
    ...others,
  };
  const source = fromFile ? 'pier.json' : 'Procfile';
  if (Object.keys(processes).length > MAX_PROCESS_TYPES) {
    throw new ValidationError(
      `${source} declares ${Object.keys(processes).length} process types; at most ${MAX_PROCESS_TYPES} run per release`,
      'processes',
    );
  }
  return { processes, source };
}

/** The release command's time limit as the release recorded it. */
export function releaseTimeoutMs(settings: Record<string, ReleaseSetting>): number {
  const seconds = (settings.release?.value as { timeoutSeconds?: number } | undefined)?.timeoutSeconds;
  return seconds ? seconds * 1000 : RELEASE_COMMAND_TIMEOUT_MS;
}

/** Each replica's limits, field by field: `own` (the process type's, set through the API), the release's `resources` (pier.json), the defaults. */
export function releaseLimits(
  settings: Record<string, ReleaseSetting>,
  own: { memoryMb?: number | null; cpus?: number | null } = {},
): ResourceLimits {
  const resources = settings.resources?.value as { memoryMb?: number; cpus?: number } | undefined;
  const memoryMb = own.memoryMb ?? resources?.memoryMb;
  const cpus = own.cpus ?? resources?.cpus;
  return {
    memoryBytes: memoryMb ? memoryMb * 1024 * 1024 : DEFAULT_LIMITS.memoryBytes,
    nanoCpus: cpus ? Math.round(cpus * 1e9) : DEFAULT_LIMITS.nanoCpus,
    pids: DEFAULT_LIMITS.pids,
  };
}
