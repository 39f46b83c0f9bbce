import { exitOnStartupError, onShutdownSignal, type WorkerConfig } from '@pier/config';
import { assertMigrated, connectDatabase } from '@pier/db';
import { createLogger } from '@pier/log';
import { Redis } from 'ioredis';

/**
 * The worker process. It checks that its state and queue are reachable and
 * then waits; job consumers (builds, deploys, the reconciler) attach here.
 */
export async function runWorker(config: WorkerConfig): Promise<void> {
  const logger = createLogger({ name: 'worker', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  const database = connectDatabase(config.DATABASE_URL, { max: 5, applicationName: 'pier-worker' });
  try {
    await assertMigrated(database.sql);
  } catch (err) {
    await database.close();
    exitOnStartupError('worker', err);
  }
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  redis.connect().catch(() => {});
  const keepAlive = setInterval(() => {}, 60_000);

  onShutdownSignal(logger, async () => {
    clearInterval(keepAlive);
    redis.disconnect();
    await database.close();
  });
  logger.info({ images: { node: config.PIER_IMAGE_NODE, python: config.PIER_IMAGE_PYTHON } }, 'worker started');
}
