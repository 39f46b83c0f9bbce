import { type ContainerRuntime, LABEL_APP } from '@pier/core';
import type { DeploymentStore } from '@pier/db';
import { pruneImages } from '@pier/docker';
import type { Logger } from '@pier/log';

export interface AppImagePruneDeps {
  runtime: ContainerRuntime;
  deployments: Pick<DeploymentStore, 'imagesInUse'>;
  settings: { keepImages: number };
  logger: Logger;
}

/**
 * After a build or a pull of `app`: removes its images beyond the newest
 * `keepImages` (never one a release or container still uses) and its install
 * stages but the newest (see `pruneCandidates`). A failure is logged, never
 * the deployment's: the image is made already.
 */
export async function pruneAppImages(deps: AppImagePruneDeps, app: { id: string; name: string }): Promise<void> {
  try {
    const inUse = await deps.deployments.imagesInUse(app.id);
    const { removed } = await pruneImages(deps.runtime, {
      keep: deps.settings.keepImages,
      inUse,
      labels: { [LABEL_APP]: app.name },
    });
    if (removed.length > 0) deps.logger.info({ app: app.name, removed: removed.map((i) => i.imageId) }, 'old images removed');
  } catch (err) {
    deps.logger.warn({ err, app: app.name }, 'image pruning failed');
  }
}
