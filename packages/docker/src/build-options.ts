import type { BuildRequest } from '@pier/core';
import type Dockerode from 'dockerode';

/** The CFS period builds' CPU quota is counted in: 100 ms, Docker's default. */
export const CPU_PERIOD_US = 100_000;

/** What every build gets besides its request: set by the installation, not by the app. */
export interface BuildEnvironment {
  /** The network of its RUN containers (see `createBuildNetwork`). */
  network: string;
  /** CPUs its RUN containers may use at once, e.g. 1.5. */
  cpus: number;
  /** A cgroup whose process limit its RUN containers share (see `buildCgroupParent`); absent: none. */
  cgroupParent?: string;
}

/**
 * The query of `POST /build` for a request. The classic builder (no BuildKit)
 * is used on purpose: it applies `memory`/`memswap`, the CPU quota, the
 * network and the cgroup parent to every RUN container and names each one in
 * its output (` ---> Running in <id>`), so a cancelled build can be cleaned up
 * precisely. `memswap` equal to `memory` means no swap. The build API has no
 * process limit of its own: the cgroup parent carries it.
 */
export function buildOptions(
  request: BuildRequest,
  environment: BuildEnvironment,
  abortSignal?: AbortSignal,
): Dockerode.ImageBuildOptions {
  return {
    t: request.tag,
    dockerfile: request.dockerfile,
    ...(request.target ? { target: request.target } : {}),
    ...(request.buildArgs && Object.keys(request.buildArgs).length > 0 ? { buildargs: { ...request.buildArgs } } : {}),
    labels: { ...request.labels },
    memory: request.memoryBytes,
    memswap: request.memoryBytes,
    cpuperiod: CPU_PERIOD_US,
    cpuquota: Math.max(1000, Math.round(environment.cpus * CPU_PERIOD_US)),
    networkmode: environment.network,
    ...(environment.cgroupParent ? { cgroupparent: environment.cgroupParent } : {}),
    forcerm: true,
    rm: true,
    nocache: false,
    pull: false,
    ...(abortSignal ? { abortSignal } : {}),
  };
}
