import { mkdir, readFile } from 'node:fs/promises';
import { capacityPolicyFrom, exitOnStartupError, onShutdownSignal, type WorkerConfig } from '@pier/config';
import { DEFAULT_HOST_ALERT_THRESHOLDS, DEFAULT_RETRY_POLICY, pierServicePorts, SecretBox } from '@pier/core';
import { assertMigrated, connectDatabase, createStores } from '@pier/db';
import { DockerRuntime, DockerWorkload } from '@pier/docker';
import { createLogger } from '@pier/log';
import { GitSourceFetcher } from '@pier/source';
import { Redis } from 'ioredis';
import { buildRegistriesFromConfig } from './build-registries.ts';
import { workerCapacityGuard } from './capacity/worker-capacity.ts';
import { certificateLoopFromConfig } from './certificates/acme-wiring.ts';
import { readHostSample } from './events/host-sample.ts';
import { enforceHostFirewall } from './host-firewall.ts';
import { sweepStaleCheckouts } from './stale-checkouts.ts';
import { startWorkerRuntime } from './worker-runtime.ts';

const MiB = 1024 * 1024;

/** Wires the worker from its configuration and runs it until a signal. */
export async function runWorker(config: WorkerConfig): Promise<void> {
  const logger = createLogger({ name: 'worker', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  const database = connectDatabase(config.DATABASE_URL, { max: 5, applicationName: 'pier-worker' });
  try {
    await assertMigrated(database.sql);
    await mkdir(config.PIER_WORK_DIR, { recursive: true, mode: 0o700 });
    await mkdir(config.PIER_BACKUP_DIR, { recursive: true, mode: 0o700 });
    // Read again for every SSH clone; one that cannot be read is a configuration error now, not failed builds later.
    if (config.PIER_GIT_KNOWN_HOSTS) await readFile(config.PIER_GIT_KNOWN_HOSTS, 'utf8');
    // Checkouts of builds killed with their worker: older than any build could run.
    const swept = await sweepStaleCheckouts(config.PIER_WORK_DIR, config.PIER_BUILD_TIMEOUT_MS + 10 * 60_000);
    if (swept.length > 0) logger.info({ swept }, 'removed stale build checkouts');
    // Before any build or replica runs: untrusted code must not reach this host's services or cloud metadata.
    // Root (npm run up) installs it; under the systemd unit prepare-host did, and the worker, not root, checks it.
    if (config.PIER_HOST_FIREWALL)
      await enforceHostFirewall(config.PIER_NETWORK_POOL, process.getuid?.() === 0 ? 'install' : 'check');
    else
      logger.warn(
        'PIER_HOST_FIREWALL is off: containers can reach this host and 169.254.0.0/16 unless its own firewall stops them',
      );
  } catch (err) {
    await database.close();
    exitOnStartupError('worker', err);
  }
  const queueConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const workerConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  for (const connection of [queueConnection, workerConnection]) {
    connection.on('error', (err) => logger.warn({ err }, 'redis connection error'));
  }
  const box = new SecretBox(config.PIER_SECRET_KEY, config.PIER_SECRET_KEYS_PREVIOUS);
  const docker = new DockerRuntime({
    socketPath: config.PIER_DOCKER_SOCKET,
    networkPool: { cidr: config.PIER_NETWORK_POOL, size: config.PIER_NETWORK_SUBNET_SIZE },
    buildLimits: { cpus: config.PIER_BUILD_CPUS, pids: config.PIER_BUILD_PIDS },
  });
  const stores = createStores(database.db, box);
  const runtime = await startWorkerRuntime({
    stores,
    capacity: workerCapacityGuard({
      reservations: stores.reservations,
      policy: capacityPolicyFrom(config),
      buildMemoryBytes: config.PIER_BUILD_MEMORY_MB * MiB,
      dockerFreeBytes: () => docker.freeDiskBytes(),
      events: stores.events,
    }),
    sql: database.sql,
    fetcher: new GitSourceFetcher({
      allowFileUrls: config.PIER_ALLOW_FILE_REPOS,
      tempDirectory: config.PIER_WORK_DIR,
      knownHostsFile: config.PIER_GIT_KNOWN_HOSTS,
    }),
    runtime: docker,
    workload: new DockerWorkload(docker.containers),
    containers: docker,
    settings: {
      images: { node: config.PIER_IMAGE_NODE, python: config.PIER_IMAGE_PYTHON, procfile: config.PIER_IMAGE_PROCFILE },
      workDirectory: config.PIER_WORK_DIR,
      timeoutMs: config.PIER_BUILD_TIMEOUT_MS,
      memoryBytes: config.PIER_BUILD_MEMORY_MB * MiB,
      maxContextBytes: config.PIER_MAX_CONTEXT_MB * MiB,
      minFreeDiskBytes: config.PIER_MIN_FREE_DISK_MB * MiB,
      keepImages: config.PIER_KEEP_IMAGES,
      logMaxBytes: config.PIER_DEPLOYMENT_LOG_MAX_MB * MiB,
      registries: await buildRegistriesFromConfig(config),
    },
    retention: {
      logRetentionDays: config.PIER_DEPLOYMENT_LOG_RETENTION_DAYS,
      deliveryRetentionDays: config.PIER_WEBHOOK_DELIVERY_RETENTION_DAYS,
    },
    logger,
    queueConnection,
    workerConnection,
    queuePrefix: config.PIER_QUEUE_PREFIX,
    instance: config.PIER_INSTANCE,
    baseDomain: config.PIER_BASE_DOMAIN,
    backupDirectory: config.PIER_BACKUP_DIR,
    volumeOperator: { image: config.PIER_IMAGE_VOLUME_TOOLS },
    buildConcurrency: config.PIER_BUILD_CONCURRENCY,
    lockDurationMs: config.PIER_BUILD_LOCK_MS,
    stalledIntervalMs: config.PIER_BUILD_STALLED_CHECK_MS,
    reconcileLeaseMs: config.PIER_RECONCILER_LEASE_MS,
    appLogs: { retentionDays: config.PIER_LOG_RETENTION_DAYS, retentionMb: config.PIER_LOG_RETENTION_MB },
    metrics: { intervalMs: config.PIER_METRICS_INTERVAL_MS, dockerRoot: () => docker.dataRoot() },
    rollbackWatchIntervalMs: config.PIER_ROLLBACK_WATCH_INTERVAL_MS,
    notifier: {
      throttleWindowMs: config.PIER_NOTIFY_THROTTLE_SECONDS * 1000,
      retry: { ...DEFAULT_RETRY_POLICY, giveUpMs: config.PIER_NOTIFY_GIVE_UP_SECONDS * 1000 },
      reservedPorts: pierServicePorts({ urls: [config.DATABASE_URL, config.REDIS_URL] }),
    },
    drains: { reservedPorts: pierServicePorts({ urls: [config.DATABASE_URL, config.REDIS_URL] }) },
    hostAlerts: {
      sample: () => readHostSample({ dockerRoot: () => docker.dataRoot() }),
      thresholds: {
        ...DEFAULT_HOST_ALERT_THRESHOLDS,
        diskPercent: config.PIER_ALERT_DISK_PERCENT,
        memoryAvailablePercent: config.PIER_ALERT_MEMORY_AVAILABLE_PERCENT,
      },
    },
    missedSlots: { graceMs: config.PIER_MISSED_SLOT_GRACE_MS },
    certificates: await certificateLoopFromConfig(config, database.db, box, logger),
  });

  onShutdownSignal(logger, async () => {
    await runtime.stop();
    queueConnection.disconnect();
    workerConnection.disconnect();
    await database.close();
  });
  logger.info({ images: { node: config.PIER_IMAGE_NODE, python: config.PIER_IMAGE_PYTHON } }, 'worker started');
}
