import { randomBytes } from 'node:crypto';
import { ConflictError, DEFAULT_NETWORK_POOL, LABEL_APP, LABEL_ROLE, type NetworkPool } from '@pier/core';
import type Dockerode from 'dockerode';
import { ensureNetwork, listNetworks, removeNetwork } from './networks.ts';

/** The role label of build networks. */
export const BUILD_NETWORK_ROLE = 'build';
/** How long a removal waits for the build's last RUN container to leave the network. */
const DETACH_WITHIN_MS = 10_000;
const POLL_MS = 200;

/**
 * A network of one build's own, for its RUN containers: from the network pool
 * like every network of Pier's (so the host firewall covers it), reaching the
 * internet but no environment, service or other build (Docker keeps bridges
 * apart). Named with an underscore, which app networks (`pier-<app>-<env>`)
 * never have.
 */
export async function createBuildNetwork(
  docker: Dockerode,
  labels: Record<string, string>,
  pool: NetworkPool = DEFAULT_NETWORK_POOL,
): Promise<string> {
  const name = `pier_build_${randomBytes(6).toString('hex')}`;
  await ensureNetwork(docker, name, { [LABEL_APP]: labels[LABEL_APP] || 'pier', [LABEL_ROLE]: BUILD_NETWORK_ROLE }, pool);
  return name;
}

/** Removes a build's network once its RUN containers have left it (they are removed as the build ends). */
export async function removeBuildNetwork(docker: Dockerode, name: string): Promise<void> {
  const deadline = Date.now() + DETACH_WITHIN_MS;
  for (;;) {
    try {
      return await removeNetwork(docker, name);
    } catch (error) {
      if (!(error instanceof ConflictError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

/** Removes build networks left by builds that died with their worker: empty, and older than any build runs. */
export async function sweepBuildNetworks(docker: Dockerode, olderThanMs: number, now = Date.now()): Promise<void> {
  for (const network of await listNetworks(docker, { [LABEL_ROLE]: BUILD_NETWORK_ROLE })) {
    if (network.containers > 0 || now - network.createdAt.getTime() < olderThanMs) continue;
    await removeNetwork(docker, network.name).catch(() => {
      // Removed by another worker's sweep meanwhile, or a container joined: the next sweep decides again.
    });
  }
}
