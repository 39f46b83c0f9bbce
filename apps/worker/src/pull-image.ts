import {
  type ContainerRuntime,
  LABEL_APP,
  LABEL_DEPLOYMENT,
  LABEL_ROLE,
  parseImageReference,
  type RegistryAuth,
  registryServer,
} from '@pier/core';
import type { AppRow, AppStore, DeploymentRow, DeploymentStore } from '@pier/db';
import type { Logger } from '@pier/log';
import type { DeploymentLogWriter } from './deployment-log-writer.ts';
import { pruneAppImages } from './prune-app-images.ts';

/** The reference a kept image was pulled from, on the image: what `docker image ls` shows of its origin. */
export const LABEL_PULLED_FROM = 'pier.pulled-from';

export interface PullJobDeps {
  apps: Pick<AppStore, 'registryCredentials'>;
  deployments: Pick<DeploymentStore, 'transition' | 'imagesInUse'>;
  runtime: ContainerRuntime;
  settings: { timeoutMs: number; keepImages: number };
  logger: Logger;
}

/** Secrets a pull for `app` could print: the stored registry password, masked out of its log and reason. */
export function registrySecrets(apps: Pick<AppStore, 'registryCredentials'>, app: AppRow): string[] {
  const stored = apps.registryCredentials(app);
  return stored ? [stored.password] : [];
}

/** Local tag of a pulled image: one per deployment, like `pier/<app>:<sha>` is one per built commit. */
export function pulledImageTag(appName: string, deploymentId: string): string {
  return `pier/${appName}:pulled-${deploymentId}`;
}

/**
 * The credentials to send for `reference`: the app's, when they are for its
 * registry; a note for the log when the app has some for another registry
 * (they are never sent elsewhere).
 */
export function credentialsFor(reference: string, stored: RegistryAuth | null): { auth: RegistryAuth | null; note?: string } {
  if (!stored) return { auth: null };
  const registry = parseImageReference(reference).registry;
  if (registryServer(stored.server) === registry) return { auth: stored };
  return { auth: null, note: `registry credentials are for ${stored.server}, not ${registry}: not sent` };
}

/**
 * The build job's branch for `POST …/deployments { image }`: pulls the image
 * (with the app's registry credentials for its registry), keeps it labelled as
 * the app's, and hands it to the deploy job exactly as a built image, so the
 * release path (deploy job → reconciler) is the same. Pruning, retention and
 * app deletion find it by its `pier.app` label. Throws a BuildError with a
 * reason on failure; the build job records it, and watches free disk space
 * before and while the pull runs, as for a build.
 */
export async function pullPrebuiltImage(
  deps: PullJobDeps,
  deployment: DeploymentRow & { image: string },
  app: AppRow,
  log: DeploymentLogWriter,
  signal: AbortSignal,
): Promise<void> {
  const { auth, note } = credentialsFor(deployment.image, deps.apps.registryCredentials(app));
  if (note) log.write(note, 'system');
  const pulled = await deps.runtime.pullImage(
    {
      reference: deployment.image,
      auth,
      tag: pulledImageTag(app.name, deployment.id),
      labels: {
        [LABEL_APP]: app.name,
        [LABEL_DEPLOYMENT]: deployment.id,
        [LABEL_ROLE]: 'app-image',
        [LABEL_PULLED_FROM]: deployment.image,
      },
      timeoutMs: deps.settings.timeoutMs,
    },
    (line) => log.write(line, 'stdout'),
    signal,
  );
  log.write(`pulled ${deployment.image}${pulled.digest ? ` (${pulled.digest})` : ''} as ${pulled.tag}`, 'system');
  await log.close();
  await deps.deployments.transition(
    deployment.id,
    ['building'],
    'deploying',
    { imageId: pulled.imageId, buildFinishedAt: new Date() },
    `pulled ${deployment.image}`,
    { job: 'deploy' },
  );
  deps.logger.info({ deploymentId: deployment.id, app: app.name, imageId: pulled.imageId }, 'prebuilt image pulled');
  await pruneAppImages(deps, app);
}
