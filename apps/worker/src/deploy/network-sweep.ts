import { ConflictError, type ContainerOperations } from '@pier/core';
import type { Logger } from '@pier/log';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE } from './replica-spec.ts';

export interface NetworkSweepOptions {
  networks: Pick<ContainerOperations, 'removeNetwork' | 'listNetworks'>;
  /** Only this installation's networks are looked at. */
  instance: string;
  /**
   * An empty network is removed once it is this old: younger, it may belong
   * to an environment created after the caller read the environments, about
   * to start its replicas.
   */
  minAgeMs: number;
  logger: Logger;
}

/**
 * Removes this installation's empty networks (no running container) of
 * environments that no longer exist, unless an environment of that network
 * name exists again (`live`): a pull request closed while its preview's first
 * rollout was only starting leaves a network no container leads back to.
 */
export async function sweepEmptyNetworks(options: NetworkSweepOptions, live: ReadonlySet<string>, now: Date): Promise<void> {
  const { networks, logger, instance, minAgeMs } = options;
  try {
    for (const network of await networks.listNetworks({ [LABEL_INSTANCE]: instance })) {
      // By name, not by the environment id on its label: a re-created environment of the same name
      // (a reopened pull request) uses the network again.
      if (!network.labels[LABEL_ENVIRONMENT_ID] || live.has(network.name) || network.containers > 0) continue;
      if (now.getTime() - network.createdAt.getTime() < minAgeMs) continue;
      logger.info({ network: network.name }, 'removing the empty network of a deleted environment');
      await networks.removeNetwork(network.name).catch((err: unknown) => {
        if (!(err instanceof ConflictError)) throw err; // a container joined meanwhile
      });
    }
  } catch (err) {
    logger.warn({ err }, 'could not sweep the networks of deleted environments; will retry');
  }
}
