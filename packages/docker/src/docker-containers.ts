import { totalmem } from 'node:os';
import {
  ConflictError,
  type ContainerInfo,
  type ContainerOperations,
  type ContainerSpec,
  type ExecOptions,
  type ExecResult,
  LABEL_APP,
  type LogEntry,
  type LogOptions,
  type NetworkInfo,
  type NetworkPool,
  NotFoundError,
  type ReplicaStats,
  ValidationError,
} from '@pier/core';
import type Dockerode from 'dockerode';
import { containerCreateOptions, networkEndpoint } from './container-create.ts';
import { checkFile, filesArchive, firstFileOf, passwdOwners } from './container-files.ts';
import { summaryToContainerInfo, toContainerInfo } from './container-info.ts';
import { containerLogs } from './container-logs.ts';
import { type EngineStats, toReplicaStats } from './container-stats.ts';
import { type DockerRuntimeOptions, dockerClient } from './docker-client.ts';
import { engineMessage, isStatus } from './engine-errors.ts';
import { execInContainer } from './exec.ts';
import { labelFilters } from './image-summary.ts';
import { ensureNetwork, listNetworks, removeNetwork } from './networks.ts';
import { ensureVolume, removeVolume } from './volumes.ts';

/**
 * ContainerOperations over the Docker Engine API. Every container gets the
 * HostConfig of `buildHostConfig`; images are never pulled. Only containers
 * and networks with the `pier.app` label are listed, stopped or removed.
 */
export class DockerContainers implements ContainerOperations {
  readonly docker: Dockerode;
  readonly #networkPool: NetworkPool | undefined;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = dockerClient(options);
    this.#networkPool = options.networkPool;
  }

  /**
   * Creates the container on its first network, writes its files (a file's
   * `owner` looked up in the image's /etc/passwd), connects the others (with
   * the same aliases), starts it and returns it as inspected then.
   * A container that cannot be connected or started is removed again. The image
   * must exist locally (NotFoundError otherwise); a taken name is a ConflictError.
   */
  async runContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    for (const file of spec.files ?? []) checkFile(file); // refused before anything is made
    const container = await this.create(containerCreateOptions(spec));
    try {
      if (spec.files?.length) {
        const owners = spec.files.some((f) => f.owner !== undefined) ? await imageUsers(container) : undefined;
        await container.putArchive(filesArchive(spec.files, owners), { path: '/' });
      }
      for (const network of spec.networks.slice(1)) {
        await this.docker.getNetwork(network).connect({ Container: container.id, EndpointConfig: networkEndpoint(spec) });
      }
      await container.start();
    } catch (error) {
      await this.removeContainer(container.id).catch(() => {});
      throw new Error(`container ${spec.name} did not start: ${engineMessage(error)}`, { cause: error });
    }
    const info = await this.inspectContainer(container.id);
    if (!info) throw new Error(`container ${spec.name} was removed as soon as it started`);
    return info;
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (the Engine's stop); stopped or missing is fine. */
  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
      throw new ValidationError(`graceSeconds must be a whole number ≥ 0, not ${graceSeconds}`, 'graceSeconds');
    }
    if (!(await this.owned(id))) return;
    try {
      await this.docker.getContainer(id).stop({ t: graceSeconds });
    } catch (error) {
      if (!isStatus(error, 304) && !isStatus(error, 404)) throw error;
    }
  }

  /** Forces removal (a running container is killed), keeps its volumes; missing is fine. */
  async removeContainer(id: string): Promise<void> {
    if (!(await this.owned(id))) return;
    try {
      await this.docker.getContainer(id).remove({ force: true, v: false });
    } catch (error) {
      // 404: gone meanwhile; 409: the Engine is already removing it.
      if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
    }
  }

  async inspectContainer(id: string): Promise<ContainerInfo | null> {
    const inspected = await this.inspect(id);
    return inspected ? toContainerInfo(inspected) : null;
  }

  /** Containers in every state with all of `labels` and, always, the `pier.app` label. */
  async listContainers(labels: Record<string, string>, options: { summary?: boolean } = {}): Promise<ContainerInfo[]> {
    const filters = { label: [LABEL_APP, ...(labelFilters(labels)?.label ?? [])] };
    const summaries = await this.docker.listContainers({ all: true, filters });
    if (options.summary) return summaries.map(summaryToContainerInfo);
    // The list lacks exit codes and times: inspect each; one removed meanwhile is left out.
    const inspected = await Promise.all(summaries.map((summary) => this.inspectContainer(summary.Id)));
    return inspected.filter((info): info is ContainerInfo => info !== null);
  }

  /**
   * One sample of a running container's use (`GET /containers/{id}/stats`
   * with `stream=false` and `one-shot=true`: no second sample for a CPU
   * percentage, which the caller computes from cumulative figures). Null when
   * it is gone or not running. Read-only, so no ownership check: callers
   * sample containers they listed by Pier's labels.
   */
  async containerStats(id: string): Promise<ReplicaStats | null> {
    try {
      const stats = (await this.docker.getContainer(id).stats({ stream: false, 'one-shot': true })) as EngineStats;
      return toReplicaStats(stats, totalmem());
    } catch (error) {
      if (isStatus(error, 404) || isStatus(error, 409)) return null;
      throw error;
    }
  }

  containerLogs(id: string, options: LogOptions): AsyncIterable<LogEntry> {
    return containerLogs(this.docker, id, options);
  }

  ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return ensureNetwork(this.docker, name, labels, this.#networkPool);
  }

  removeNetwork(name: string): Promise<void> {
    return removeNetwork(this.docker, name);
  }

  listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]> {
    return listNetworks(this.docker, labels);
  }

  /** Refuses (ConflictError) a container without the `pier.app` label; a missing one is a NotFoundError. */
  async exec(id: string, command: string[], options?: ExecOptions): Promise<ExecResult> {
    if (!(await this.owned(id))) throw new NotFoundError(`container ${id} not found`);
    return execInContainer(this.docker, this.docker.getContainer(id), command, options);
  }

  ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    return ensureVolume(this.docker, name, labels);
  }

  removeVolume(name: string): Promise<void> {
    return removeVolume(this.docker, name);
  }

  private async create(options: Dockerode.ContainerCreateOptions): Promise<Dockerode.Container> {
    try {
      return await this.docker.createContainer(options);
    } catch (error) {
      if (isStatus(error, 404)) throw new NotFoundError(`cannot create container ${options.name}: ${engineMessage(error)}`);
      if (isStatus(error, 409)) throw new ConflictError(`cannot create container ${options.name}: ${engineMessage(error)}`);
      throw error;
    }
  }

  private async inspect(id: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Whether the container exists and is Pier's; refuses (ConflictError) one without the `pier.app` label. */
  private async owned(id: string): Promise<boolean> {
    const inspected = await this.inspect(id);
    if (!inspected) return false;
    if (!inspected.Config.Labels?.[LABEL_APP]) {
      throw new ConflictError(`refusing to touch container ${id}: it has no ${LABEL_APP} label, so Pier does not own it`);
    }
    return true;
  }
}

/** The users of a created container's image, from its `/etc/passwd`: who a file's `owner` is. */
async function imageUsers(container: Dockerode.Container): Promise<ReturnType<typeof passwdOwners>> {
  const stream = (await container.getArchive({ path: '/etc/passwd' })) as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return passwdOwners(firstFileOf(Buffer.concat(chunks)));
}
