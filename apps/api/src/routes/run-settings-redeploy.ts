import type { DeploymentRow, DeploymentStore, EnvironmentRow, ReleaseRow, ReleaseStore } from '@pier/db';

/** Whether a settings change alters how the environment's replicas run (their port or health check). */
export function runSettingsChanged(before: EnvironmentRow, after: EnvironmentRow): boolean {
  return before.port !== after.port || before.healthPath !== after.healthPath;
}

/**
 * Redeploys the image the environment runs (or is rolling out) with its
 * settings, variables and links as they are now: a new release,
 * health-gated, trigger `config`.
 * Null when nothing is deployed yet: the first deploy takes the settings.
 */
export async function redeployWithSettings(
  deps: { releases: Pick<ReleaseStore, 'get'>; deployments: Pick<DeploymentStore, 'enqueueRelease'> },
  env: EnvironmentRow,
): Promise<DeploymentRow | null> {
  if (!env.desiredReleaseId) return null;
  const current = await deps.releases.get(env.desiredReleaseId);
  return deps.deployments.enqueueRelease({
    appId: env.appId,
    environmentId: env.id,
    trigger: 'config',
    releaseId: null,
    imageId: current.imageId,
    commitSha: builtCommit(current),
  });
}

/** The commit a release was built from, when its image ref says so (`pier/<app>:<sha>`); null for a pulled image or an id. */
export function builtCommit(release: Pick<ReleaseRow, 'imageRef'>): string | null {
  return /:([0-9a-f]{40})$/.exec(release.imageRef)?.[1] ?? null;
}
