import { statfs } from 'node:fs/promises';
import {
  type BuildRequest,
  type BuiltImage,
  ConflictError,
  type ContainerInfo,
  type ContainerOperations,
  type ContainerRuntime,
  type ContainerSpec,
  type ExecOptions,
  type ExecResult,
  type ImageSummary,
  LABEL_APP,
  type LogEntry,
  type LogOptions,
  type NetworkInfo,
  NotFoundError,
  type PulledImage,
  type PullRequest,
} from '@pier/core';
import type Dockerode from 'dockerode';
import { type BuildCgroup, prepareBuildCgroup } from './build-cgroup.ts';
import { type BuildSetup, buildImage } from './build-image.ts';
import { DEFAULT_BUILD_LIMITS, type DockerRuntimeOptions, dockerClient } from './docker-client.ts';
import { DockerContainers } from './docker-containers.ts';
import { engineMessage, isStatus } from './engine-errors.ts';
import { exposedTcpPorts, labelFilters, toImageSummary } from './image-summary.ts';
import { pullImage } from './pull-image.ts';

/**
 * ContainerRuntime over the Docker Engine API (dockerode, no CLI, no shell).
 * Builds use the classic builder: see `buildOptions` for why. It is also the
 * ContainerOperations of the same Engine, handed to `DockerContainers`.
 */
export class DockerRuntime implements ContainerRuntime, ContainerOperations {
  readonly docker: Dockerode;
  readonly containers: DockerContainers;
  readonly #buildSetup: BuildSetup;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = dockerClient(options);
    this.containers = new DockerContainers({ docker: this.docker, networkPool: options.networkPool });
    const limits = { ...DEFAULT_BUILD_LIMITS, ...options.buildLimits };
    let cgroup: Promise<BuildCgroup> | undefined;
    this.#buildSetup = {
      pool: options.networkPool,
      cpus: limits.cpus,
      cgroup: () => {
        // A failed preparation (the Engine briefly away) is tried again by the next build, not kept.
        cgroup ??= prepareBuildCgroup(this.docker, limits.pids).catch((error: unknown) => {
          cgroup = undefined;
          throw error;
        });
        return cgroup;
      },
    };
  }

  buildImage(request: BuildRequest, onLine: (line: string) => void, signal?: AbortSignal): Promise<BuiltImage> {
    return buildImage(this.docker, request, onLine, this.#buildSetup, signal);
  }

  async listImages(labels: Record<string, string>): Promise<ImageSummary[]> {
    const filters = labelFilters(labels);
    const images = await this.docker.listImages(filters ? { filters } : {});
    return images.map(toImageSummary);
  }

  /**
   * Removes the image under every tag it has, then by id. Refuses (ConflictError)
   * an image Pier does not own or one a container still uses; an image already
   * gone is fine.
   */
  async removeImage(imageId: string): Promise<void> {
    const image = await this.inspectImage(imageId);
    if (!image) return;
    if (!image.Config?.Labels?.[LABEL_APP]) {
      throw new ConflictError(`refusing to remove image ${imageId}: it has no ${LABEL_APP} label, so Pier does not own it`);
    }
    for (const reference of [...(image.RepoTags ?? []), image.Id]) await this.removeReference(reference);
  }

  /** Where the Engine keeps images, layers and volumes (DockerRootDir), for the host's disk alerts; null when it does not say. */
  async dataRoot(): Promise<string | null> {
    const info = (await this.docker.info()) as { DockerRootDir?: string };
    return info.DockerRootDir ?? null;
  }

  /** Free bytes on the filesystem of the Engine's data root (of `/` when that path is not visible from here). */
  async freeDiskBytes(): Promise<number> {
    const info = (await this.docker.info()) as { DockerRootDir?: string };
    const stats = await statfs(info.DockerRootDir ?? '/').catch(() => statfs('/'));
    return stats.bavail * stats.bsize;
  }

  async imageExposedPorts(image: string): Promise<number[]> {
    const info = await this.inspectImage(image);
    if (!info) throw new NotFoundError(`image ${image} is not on this Docker Engine`);
    return exposedTcpPorts(info.Config?.ExposedPorts);
  }

  /** The Engine's `reference` filter with a bare repository matches each of its tags. */
  async imageTags(repository: string): Promise<string[]> {
    const images = await this.docker.listImages({ filters: JSON.stringify({ reference: [repository] }) });
    const prefix = `${repository}:`;
    const tags = images.flatMap((image) => image.RepoTags ?? []).filter((tag) => tag.startsWith(prefix));
    return [...new Set(tags.map((tag) => tag.slice(prefix.length)))].sort();
  }

  pullImage(request: PullRequest, onLine: (line: string) => void, signal?: AbortSignal): Promise<PulledImage> {
    return pullImage(this.docker, request, onLine, signal);
  }

  /** `LayersSize` of `GET /system/df`: every layer of every image, each once. */
  async imageDiskBytes(): Promise<number> {
    const usage = (await this.docker.df()) as { LayersSize?: number };
    return usage.LayersSize ?? 0;
  }

  runContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    return this.containers.runContainer(spec);
  }

  stopContainer(id: string, graceSeconds: number): Promise<void> {
    return this.containers.stopContainer(id, graceSeconds);
  }

  removeContainer(id: string): Promise<void> {
    return this.containers.removeContainer(id);
  }

  inspectContainer(id: string): Promise<ContainerInfo | null> {
    return this.containers.inspectContainer(id);
  }

  listContainers(labels: Record<string, string>, options?: { summary?: boolean }): Promise<ContainerInfo[]> {
    return this.containers.listContainers(labels, options);
  }

  containerLogs(id: string, options: LogOptions): AsyncIterable<LogEntry> {
    return this.containers.containerLogs(id, options);
  }

  ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return this.containers.ensureNetwork(name, labels);
  }

  removeNetwork(name: string): Promise<void> {
    return this.containers.removeNetwork(name);
  }

  listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]> {
    return this.containers.listNetworks(labels);
  }

  exec(id: string, command: string[], options?: ExecOptions): Promise<ExecResult> {
    return this.containers.exec(id, command, options);
  }

  ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    return this.containers.ensureVolume(name, labels);
  }

  removeVolume(name: string): Promise<void> {
    return this.containers.removeVolume(name);
  }

  private async inspectImage(reference: string): Promise<Dockerode.ImageInspectInfo | undefined> {
    try {
      return await this.docker.getImage(reference).inspect();
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  private async removeReference(reference: string): Promise<void> {
    try {
      await this.docker.getImage(reference).remove();
    } catch (error) {
      if (isStatus(error, 404)) return;
      if (isStatus(error, 409)) throw new ConflictError(`cannot remove image ${reference}: ${engineMessage(error)}`);
      throw error;
    }
  }
}
