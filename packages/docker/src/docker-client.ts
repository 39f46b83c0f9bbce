import type { NetworkPool } from '@pier/core';
import Dockerode from 'dockerode';

export interface DockerRuntimeOptions {
  /** A ready client; when absent one is made for `socketPath`. */
  docker?: Dockerode;
  /** The Engine's socket; default `/var/run/docker.sock`. */
  socketPath?: string;
  /** Where networks' subnets come from (PIER_NETWORK_POOL); default core's DEFAULT_NETWORK_POOL. */
  networkPool?: NetworkPool;
  /** Limits of builds besides the memory of each request; defaults in `DEFAULT_BUILD_LIMITS`. */
  buildLimits?: Partial<BuildLimits>;
}

/** CPU and process limits of builds, set per installation (PIER_BUILD_CPUS, PIER_BUILD_PIDS). */
export interface BuildLimits {
  /** CPUs the RUN steps of one build may use at once. */
  cpus: number;
  /** Processes of all builds on this host together (see `prepareBuildCgroup`). */
  pids: number;
}

export const DEFAULT_BUILD_LIMITS: BuildLimits = { cpus: 2, pids: 4096 };

/** The client of `options`: the one given, or one for the socket. */
export function dockerClient(options: DockerRuntimeOptions): Dockerode {
  return options.docker ?? new Dockerode({ socketPath: options.socketPath ?? '/var/run/docker.sock' });
}
