import type { NetworkPool } from '@pier/core';
import Dockerode from 'dockerode';

export interface DockerRuntimeOptions {
  /** A ready client; when absent one is made for `socketPath`. */
  docker?: Dockerode;
  /** The Engine's socket; default `/var/run/docker.sock`. */
  socketPath?: string;
  /** Where networks' subnets come from (PIER_NETWORK_POOL); default core's DEFAULT_NETWORK_POOL. */
  networkPool?: NetworkPool;
}

/** The client of `options`: the one given, or one for the socket. */
export function dockerClient(options: DockerRuntimeOptions): Dockerode {
  return options.docker ?? new Dockerode({ socketPath: options.socketPath ?? '/var/run/docker.sock' });
}
