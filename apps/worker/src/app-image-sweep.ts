import {
  ConflictError,
  type ContainerOperations,
  type ContainerRuntime,
  LABEL_APP,
  LABEL_ROLE,
  NotFoundError,
  PassLoop,
} from '@pier/core';
import { type AppStore, notifyAppImagesRemoved, onAppDeleted } from '@pier/db';
import type { Logger } from '@pier/log';
import type postgres from 'postgres';
import { LABEL_INSTANCE } from './deploy/replica-spec.ts';

export interface AppImageSweeperOptions {
  apps: Pick<AppStore, 'get'>;
  runtime: Pick<ContainerRuntime, 'listImages' | 'removeImage' | 'imageDiskBytes'>;
  containers: Pick<ContainerOperations, 'listContainers' | 'removeContainer'>;
  /** Hears deleted apps (`APP_DELETED_CHANNEL`) and tells the API what was removed (`APP_IMAGES_REMOVED_CHANNEL`). */
  sql: postgres.Sql;
  /** Only this installation's containers are waited for. */
  instance: string;
  logger: Logger;
  /** How often a deleted app's containers are looked for while some remain: default 1 s. */
  intervalMs?: number;
}

const ADMIN = { role: 'admin', tokenId: null } as const;

/**
 * Removes the images of deleted apps. The API deletes an app's rows and
 * notifies; the reconciler then removes its replicas (orphans now); once
 * none of its containers is left, this removes every image labelled with
 * the app (built or pulled: pull-image.ts labels what it pulls; the install
 * stages of generated builds label themselves), measures how
 * much the image store shrank, and notifies the API, which answers the DELETE
 * with it. It changes no container: the reconciler alone does. An app created
 * again under the same name meanwhile keeps them (retention prunes them with
 * its own). Deletions are heard while the worker runs: one made while no
 * worker listens leaves its images behind.
 */
export class AppImageSweeper {
  readonly #pending = new Set<string>();
  readonly #loop: PassLoop;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly options: AppImageSweeperOptions) {
    this.#loop = new PassLoop({
      name: 'app-image-sweep',
      intervalMs: options.intervalMs ?? 1000,
      logger: options.logger,
      pass: (signal) => this.sweep(signal),
    });
  }

  async start(): Promise<void> {
    this.#unlisten = await onAppDeleted(this.options.sql, (name) => {
      this.#pending.add(name);
      this.#loop.kick();
    });
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#unlisten?.().catch(() => {});
    await this.#loop.stop();
  }

  /** Deleted apps whose images are still to be removed. */
  get pending(): ReadonlySet<string> {
    return this.#pending;
  }

  /** One pass over the deleted apps heard of. */
  async sweep(signal?: AbortSignal): Promise<void> {
    for (const name of [...this.#pending]) {
      if (signal?.aborted) return;
      if (await this.#existsAgain(name)) {
        this.#pending.delete(name);
        continue;
      }
      const left = await this.options.containers.listContainers({ [LABEL_APP]: name, [LABEL_INSTANCE]: this.options.instance });
      // A release command's one-off container left by a worker that died is no replica: nothing else removes it.
      const oneOffs = left.filter((c) => c.labels[LABEL_ROLE] === 'release');
      for (const c of oneOffs) await this.options.containers.removeContainer(c.id);
      if (left.length > oneOffs.length) continue; // the reconciler is removing the replicas
      await this.#removeImages(name);
      this.#pending.delete(name);
    }
  }

  async #existsAgain(name: string): Promise<boolean> {
    try {
      await this.options.apps.get(ADMIN, name);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  async #removeImages(name: string): Promise<void> {
    const { images, freedBytes } = await removeAppImages(this.options.runtime, name, this.options.logger);
    await notifyAppImagesRemoved(this.options.sql, { app: name, images, freedBytes });
  }
}

/**
 * Removes every image labelled with the app `name`: its built and pulled
 * images and the install stages of its generated builds (each with the
 * untagged layers under it); one a container still uses is left, with a
 * warning. Returns how many went and how much the image store shrank.
 */
export async function removeAppImages(
  runtime: AppImageSweeperOptions['runtime'],
  name: string,
  logger: Logger,
): Promise<{ images: number; freedBytes: number }> {
  const images = await runtime.listImages({ [LABEL_APP]: name });
  const before = await runtime.imageDiskBytes();
  let removed = 0;
  for (const image of images) {
    try {
      await runtime.removeImage(image.imageId);
      removed++;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      logger.warn({ err, app: name, imageId: image.imageId }, 'an image of a deleted app is still in use; left');
    }
  }
  const freedBytes = Math.max(0, before - (await runtime.imageDiskBytes()));
  logger.info({ app: name, images: removed, freedBytes }, 'images of a deleted app removed');
  return { images: removed, freedBytes };
}
