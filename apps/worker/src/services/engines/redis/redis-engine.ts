import { type ContainerSpec, SERVICE_ENGINES } from '@pier/core';
import type { ServiceRow } from '@pier/db';
import { type ServiceIdentity, serviceLabels, VERIFY_LIMITS } from '../../service-labels.ts';
import type { EngineContext, EngineOperations } from '../engine.ts';
import { checkRedisFile, dropPreviousRedisData, dumpRedis, placeRedisFile } from './redis-backup.ts';
import { redisStartup } from './redis-startup.ts';

/**
 * Managed Redis: the password in a 0600 file the server reads, the data in an
 * append-only file; backups are RDB snapshots checked by `redis-check-rdb`,
 * restored as the base of a fresh AOF while the service is stopped. Links
 * share the one password (Redis has no login roles here).
 */
export const redisEngine: EngineOperations = {
  backupStrategy: 'redis-rdb',
  startup: redisStartup,
  dump: (ops, containerId, credentials, out) => dumpRedis(ops, containerId, credentials, out),
  verify: async (ops, containerId, _credentials, file) => ({ found: await checkRedisFile(ops, containerId, file), problems: [] }),
  restore: restoreRedis,
};

/** Stop the service, put the RDB file in its volume as the base of a fresh AOF, start it again. */
async function restoreRedis(context: EngineContext, target: ServiceRow, file: string): Promise<void> {
  const { containers, services, serviceContainers, instance } = context;
  await serviceContainers.stop(target.id);
  const helper = await containers.runContainer(restoreHelperSpec(target, instance));
  try {
    await placeRedisFile(containers, helper.id, file);
  } finally {
    await containers.removeContainer(helper.id).catch(() => {});
  }
  const containerId = await serviceContainers.start(target);
  await services.setState(target.id, 'ready', { containerId, lastError: null });
  await dropPreviousRedisData(containers, containerId);
}

/** A container that holds a stopped Redis service's volume while a backup is put in place (no network, no server). */
export function restoreHelperSpec(service: ServiceIdentity, instance: string): ContainerSpec {
  return {
    name: `pier-restore-${service.name}-${Date.now().toString(36)}`.slice(0, 120),
    image: service.image,
    env: {},
    labels: serviceLabels(service, instance, 'restore'),
    containerPort: null,
    networks: ['none'],
    limits: VERIFY_LIMITS,
    volumes: { [service.volumeName]: SERVICE_ENGINES.redis.dataDirectory },
    command: ['sleep', 'infinity'],
  };
}
