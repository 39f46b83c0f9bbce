import type {
  Address,
  ContainerInfo,
  ContainerSpec,
  ContainerStatus,
  LogEntry,
  LogOptions,
  ReplicaStats,
  Workload,
  WorkloadInstance,
  WorkloadStatus,
} from '@pier/core';
import type { DockerRuntimeOptions } from './docker-client.ts';
import { DockerContainers } from './docker-containers.ts';
import { PUBLISH_HOST_IP } from './host-config.ts';

/**
 * The host of every replica's address. One Docker Engine publishes a replica's
 * port on loopback only, and the proxy runs on the same machine, so it reaches
 * the replica there. This adapter is the one place that knows: the reconciler,
 * the health gate and the proxy use the address as reported.
 */
const REPLICA_HOST = PUBLISH_HOST_IP;

/** How each container status reads as a replica's: on its way up, up, or over. */
const WORKLOAD_STATUS: Record<ContainerStatus, WorkloadStatus> = {
  created: 'starting',
  restarting: 'starting',
  running: 'running',
  // Frozen, not ended: it runs again when unpaused, and Pier never pauses one.
  paused: 'running',
  removing: 'exited',
  exited: 'exited',
  dead: 'exited',
};

/** The replica of an inspected container: its address is the published host port on loopback, while it has not exited. */
export function toWorkloadInstance(info: ContainerInfo): WorkloadInstance {
  const status = WORKLOAD_STATUS[info.status];
  const address: Address | null =
    status !== 'exited' && info.hostPort !== null ? { host: REPLICA_HOST, port: info.hostPort } : null;
  return {
    id: info.id,
    name: info.name,
    labels: info.labels,
    status,
    exitCode: info.exitCode,
    oomKilled: status === 'exited' && info.oomKilled,
    startedAt: info.startedAt,
    address,
  };
}

/**
 * Workload over one Docker Engine: a thin layer on `DockerContainers`, which
 * keeps its rules (the safe HostConfig, images never pulled, only containers
 * with the `pier.app` label touched). What managed services need besides
 * (networks, volumes, exec) stays on `DockerContainers` (ContainerOperations).
 */
export class DockerWorkload implements Workload {
  readonly containers: DockerContainers;

  /** Takes the `DockerContainers` to share, or the options to make one. */
  constructor(containers: DockerContainers | DockerRuntimeOptions = {}) {
    this.containers = containers instanceof DockerContainers ? containers : new DockerContainers(containers);
  }

  async run(spec: ContainerSpec): Promise<WorkloadInstance> {
    return toWorkloadInstance(await this.containers.runContainer(spec));
  }

  stop(id: string, graceSeconds: number): Promise<void> {
    return this.containers.stopContainer(id, graceSeconds);
  }

  remove(id: string): Promise<void> {
    return this.containers.removeContainer(id);
  }

  async list(labels: Record<string, string>): Promise<WorkloadInstance[]> {
    return (await this.containers.listContainers(labels)).map(toWorkloadInstance);
  }

  async inspect(id: string): Promise<WorkloadInstance | null> {
    const info = await this.containers.inspectContainer(id);
    return info ? toWorkloadInstance(info) : null;
  }

  logs(id: string, options: LogOptions): AsyncIterable<LogEntry> {
    return this.containers.containerLogs(id, options);
  }

  stats(id: string): Promise<ReplicaStats | null> {
    return this.containers.containerStats(id);
  }
}
