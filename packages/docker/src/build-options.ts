import type { BuildRequest } from '@pier/core';
import type Dockerode from 'dockerode';

/**
 * The query of `POST /build` for a request. The classic builder (no BuildKit)
 * is used on purpose: it applies `memory`/`memswap` to every RUN container and
 * names each one in its output (` ---> Running in <id>`), so a cancelled build
 * can be cleaned up precisely. `memswap` equal to `memory` means no swap.
 */
export function buildOptions(request: BuildRequest, abortSignal?: AbortSignal): Dockerode.ImageBuildOptions {
  return {
    t: request.tag,
    dockerfile: request.dockerfile,
    labels: { ...request.labels },
    memory: request.memoryBytes,
    memswap: request.memoryBytes,
    forcerm: true,
    rm: true,
    nocache: false,
    pull: false,
    ...(abortSignal ? { abortSignal } : {}),
  };
}
