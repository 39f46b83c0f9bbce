import { fileURLToPath } from 'node:url';
import { type ApiConfig, capacityPolicyFrom, exitOnStartupError, onShutdownSignal, readHostResources } from '@pier/config';
import { pierServicePorts, SecretBox } from '@pier/core';
import {
  assertMigrated,
  CapacityGuard,
  ChangeFeed,
  connectDatabase,
  createStores,
  pingDatabase,
  watchAppImagesRemoved,
} from '@pier/db';
import { createLogger } from '@pier/log';
import { Redis } from 'ioredis';
import { buildApp } from './app.ts';
import { serviceImagesFrom } from './service-images.ts';

/** Connects to Postgres and Redis, refuses an unmigrated database, and serves the API until a signal. */
export async function serveApi(config: ApiConfig): Promise<void> {
  const logger = createLogger({ name: 'api', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  const database = connectDatabase(config.DATABASE_URL, { applicationName: 'pier-api' });
  try {
    await assertMigrated(database.sql);
  } catch (err) {
    await database.close();
    exitOnStartupError('api', err);
  }
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
  redis.connect().catch(() => {}); // /ready reports it; ioredis keeps retrying

  const box = new SecretBox(config.PIER_SECRET_KEY, config.PIER_SECRET_KEYS_PREVIOUS);
  const stores = createStores(database.db, box);
  const app = buildApp({
    logger,
    adminToken: config.PIER_ADMIN_TOKEN,
    baseDomain: config.PIER_BASE_DOMAIN,
    serviceImages: serviceImagesFrom(config),
    publicAddresses: config.PIER_PUBLIC_IPS,
    webhookRateLimitPerMinute: config.PIER_WEBHOOK_RATE_LIMIT,
    ...(config.PIER_CONTROL_HOSTNAME ? { controlHostname: config.PIER_CONTROL_HOSTNAME } : {}),
    quotas: {
      environments: config.PIER_QUOTA_ENVIRONMENTS,
      previews: config.PIER_QUOTA_PREVIEWS,
      forkPreviews: config.PIER_QUOTA_FORK_PREVIEWS,
      replicas: config.PIER_QUOTA_REPLICAS,
      domains: config.PIER_QUOTA_DOMAINS,
    },
    ...stores,
    // The api sees `/` only (Docker's data root is the worker's to weigh, before a build or a rollout).
    capacity: new CapacityGuard({
      reservations: stores.reservations,
      host: () => readHostResources({ paths: ['/'] }),
      policy: capacityPolicyFrom(config),
      buildMemoryBytes: config.PIER_BUILD_MEMORY_MB * 1024 * 1024,
      events: stores.events,
    }),
    cliBundlePath: config.PIER_CLI_BUNDLE ?? fileURLToPath(new URL('../../cli/dist/pier.cjs', import.meta.url)),
    dashboardDir: config.PIER_DASHBOARD_DIR ?? fileURLToPath(new URL('../../dashboard/dist', import.meta.url)),
    sessionTtlMs: config.PIER_SESSION_HOURS * 60 * 60 * 1000,
    changes: new ChangeFeed(database.sql, (err) => logger.warn({ err }, 'the change feed could not LISTEN; trying again')),
    appDeletions: (name) => watchAppImagesRemoved(database.sql, name),
    reservedPorts: pierServicePorts({ ports: [config.PIER_API_PORT], urls: [config.DATABASE_URL, config.REDIS_URL] }),
    readiness: {
      postgres: () => pingDatabase(database.sql),
      redis: async () => {
        await redis.ping();
      },
    },
  });

  onShutdownSignal(logger, async () => {
    await app.close();
    redis.disconnect();
    await database.close();
  });
  try {
    await app.listen({ host: config.PIER_API_HOST, port: config.PIER_API_PORT });
  } catch (err) {
    exitOnStartupError('api', err);
  }
}
