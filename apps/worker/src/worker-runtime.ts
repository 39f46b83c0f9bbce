import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CapacityCheck, ContainerOperations, ContainerRuntime, SourceFetcher, Workload } from '@pier/core';
import type { Stores } from '@pier/db';
import { EVENTS_CHANNEL, listenTo, ROLLOUTS_CHANNEL, RUNS_CHANNEL } from '@pier/db';
import type { Logger } from '@pier/log';
import { consumeJobs, JobQueue } from '@pier/queue';
import type { ConnectionOptions, Worker } from 'bullmq';
import type postgres from 'postgres';
import { AppImageSweeper } from './app-image-sweep.ts';
import { type BuildSettings, runBuildJob } from './build-job.ts';
import { CertificateRenewer, type CertificateRenewerOptions } from './certificates/certificate-renewer.ts';
import { ChecksDeadline } from './checks-deadline.ts';
import { runDeployJob } from './deploy/deploy-job.ts';
import { Reconciler } from './deploy/reconciler.ts';
import { DrainForwarder, type DrainForwarderOptions } from './drains/drain-forwarder.ts';
import { HostAlertWatch, type HostAlertWatchOptions } from './events/host-alerts.ts';
import { MissedSlotWatch, type MissedSlotWatchOptions } from './events/missed-slot-watch.ts';
import { LogCollector, type LogCollectorOptions } from './logs/log-collector.ts';
import { LogRetention } from './logs/log-retention.ts';
import { logsCollected as waitForLogs } from './logs/logs-collected.ts';
import { OneOffMasks } from './logs/one-off-mask.ts';
import { MetricsCollector, type MetricsCollectorOptions } from './metrics/metrics-collector.ts';
import { MetricsRollup } from './metrics/metrics-rollup.ts';
import { Notifier, type NotifierOptions } from './notifications/notifier.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { RecordRetention, type RecordRetentionOptions } from './record-retention.ts';
import { ReleaseWatcher } from './rollbacks/release-watcher.ts';
import { CronScheduler } from './runs/cron-scheduler.ts';
import { RunExecutor, type RunExecutorOptions } from './runs/run-executor.ts';
import { SecretResealer, type SecretResealerOptions } from './secret-resealer.ts';
import { ServiceOperator, type ServiceOperatorOptions } from './services/service-operator.ts';
import { VolumeOperator, type VolumeOperatorOptions } from './volumes/volume-operator.ts';

export interface WorkerRuntimeOptions {
  stores: Pick<
    Stores,
    | 'apps'
    | 'environments'
    | 'environmentHealth'
    | 'processes'
    | 'volumes'
    | 'volumeOperations'
    | 'variables'
    | 'deployments'
    | 'releases'
    | 'replicas'
    | 'rollouts'
    | 'leases'
    | 'services'
    | 'serviceOperations'
    | 'serviceRoles'
    | 'sealedValues'
    | 'deliveries'
    | 'checks'
    | 'runs'
    | 'cron'
    | 'reservations'
    | 'logs'
    | 'logDrains'
    | 'releaseWatches'
    | 'events'
    | 'notificationQueue'
    | 'alertStates'
    | 'scheduleWatches'
    | 'metrics'
  >;
  sql: postgres.Sql;
  fetcher: SourceFetcher;
  runtime: ContainerRuntime;
  /** App replicas, for the reconciler alone. */
  workload: Workload;
  /** Networks, volumes and exec, for managed services and environment networks. */
  containers: ContainerOperations;
  settings: BuildSettings;
  /** The capacity guard of builds, rollouts and runs (absent: nothing is refused for capacity). */
  capacity?: CapacityCheck;
  logger: Logger;
  /** For adding jobs: should fail fast while Redis is down (the relay retries). */
  queueConnection: ConnectionOptions;
  /** For consuming jobs: blocking commands, no retry limit. */
  workerConnection: ConnectionOptions;
  queuePrefix: string;
  /** Installation name on every container (PIER_INSTANCE). */
  instance: string;
  /** PIER_BASE_DOMAIN: health probes send each environment's generated hostname as `Host`. */
  baseDomain: string;
  /** How long nothing may listen on a new replica's port before its gate fails (tests shorten it). */
  healthStartPeriodMs?: number;
  buildConcurrency: number;
  relayPollMs?: number;
  resyncIntervalMs?: number;
  resyncGraceMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How often the reconciler compares the runtime with Postgres when nothing is under way. */
  reconcileIntervalMs?: number;
  /** The reconciler's lease (tests shorten it to see a takeover sooner). */
  reconcileLeaseMs?: number;
  /** Backup files of managed services are written here (PIER_BACKUP_DIR). */
  backupDirectory: string;
  /** Timings of the managed-service loop (tests shorten them). */
  serviceTimings?: Pick<ServiceOperatorOptions, 'pollIntervalMs' | 'reconcileIntervalMs' | 'leaseMs' | 'readyTimeoutMs'>;
  /** App volumes' backups, restores and deletions: the helper image (PIER_IMAGE_VOLUME_TOOLS) and timings; absent: not run here. */
  volumeOperator?: Pick<VolumeOperatorOptions, 'image' | 'pollIntervalMs' | 'reconcileIntervalMs' | 'leaseMs'>;
  /** Passed to the reconcile planner (tests shorten the backoff). */
  reconcilePlan?: ConstructorParameters<typeof Reconciler>[0]['plan'];
  /** The certificate loop (ACME orders and renewals); absent: this worker orders no certificates. */
  certificates?: Omit<CertificateRenewerOptions, 'logger' | 'sql'>;
  /** How long old build output and webhook delivery records are kept; absent: kept forever (tests). */
  retention?: Omit<RecordRetentionOptions, 'deployments' | 'deliveries' | 'logger'>;
  /** How often deployments waiting for checks past their deadline are skipped (tests shorten it). */
  checksDeadlineIntervalMs?: number;
  /** How often the watch after each rollout judges new releases (PIER_ROLLBACK_WATCH_INTERVAL_MS; tests shorten it). */
  rollbackWatchIntervalMs?: number;
  /** The notifier (events to channels: throttle, retries, give-up age); absent: this worker sends no notifications. */
  notifier?: Omit<NotifierOptions, 'queue' | 'logger' | 'wakeOn'>;
  /** The host's disk and memory alerts (how the host is read, thresholds); absent: not watched here. */
  hostAlerts?: Omit<HostAlertWatchOptions, 'stores' | 'logger'>;
  /** The dead man's switch over backup and cron slots (timings; it always runs, one worker at a time). */
  missedSlots?: Omit<MissedSlotWatchOptions, 'stores' | 'logger'>;
  /**
   * The metrics collector (replicas' Docker statistics and the host, every PIER_METRICS_INTERVAL_MS, under a
   * lease) and the hourly roll-up; absent: neither runs here (tests that read no metrics).
   */
  metrics?: Pick<MetricsCollectorOptions, 'intervalMs' | 'dockerRoot'> & { rollupIntervalMs?: number };
  /** The log drain forwarder (Pier's own ports it never sends to, timings); absent: this worker forwards no drains. */
  drains?: Omit<DrainForwarderOptions, 'stores' | 'logger'>;
  /** Timings of re-sealing secrets after a key rotation (tests shorten them). */
  resealing?: Omit<SecretResealerOptions, 'values' | 'logger'>;
  /** Timings of the one-off run executor and the cron scheduler (tests shorten them). */
  runTimings?: Pick<RunExecutorOptions, 'leaseMs' | 'pollIntervalMs' | 'concurrency'> & { cronIntervalMs?: number };
  /**
   * The log collector (apps' container output into the log store, under a lease) and log retention
   * (PIER_LOG_RETENTION_DAYS / _MB); absent: neither runs here (tests that do not read app logs).
   */
  appLogs?: { retentionDays: number; retentionMb: number } & Pick<
    LogCollectorOptions,
    'discoverIntervalMs' | 'batchLines' | 'flushMs' | 'leaseMs'
  >;
}

export interface WorkerRuntime {
  queue: JobQueue;
  relay: OutboxRelay;
  builds: Worker;
  deploys: Worker;
  reconciler: Reconciler;
  serviceOperator: ServiceOperator;
  volumeOperator: VolumeOperator | null;
  certificates: CertificateRenewer | null;
  retention: RecordRetention | null;
  resealer: SecretResealer;
  /** Removes deleted apps' images once their containers are gone. */
  imageSweeper: AppImageSweeper;
  checksDeadline: ChecksDeadline;
  /** Rolls a new release back on its own when it answers errors or restarts more than the one before. */
  releaseWatcher: ReleaseWatcher;
  /** Records the host's disk and memory alerts (when `hostAlerts` is given). */
  hostAlerts: HostAlertWatch | null;
  /** Records backup and cron slots that passed with nothing run. */
  missedSlots: MissedSlotWatch;
  /** Starts queued one-off and cron runs. */
  runs: RunExecutor;
  /** Queues cron runs at their slots. */
  cron: CronScheduler;
  /** Sends events to notification channels (when `notifier` is given). */
  notifier: Notifier | null;
  /** Follows apps' containers into the log store (when `appLogs` is given). */
  logCollector: LogCollector | null;
  /** Samples replicas and the host into the metrics (when `metrics` is given). */
  metricsCollector: MetricsCollector | null;
  /** Forwards apps' stored lines to their log drains (when `drains` is given). */
  drainForwarder: DrainForwarder | null;
  stop(): Promise<void>;
}

/** The worker's loops: the outbox relay and the build consumer. */
export async function startWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { stores, logger } = options;
  // One-off containers (release commands, runs) wait for the log collector before they are removed, when it runs.
  const logsCollected = options.appLogs ? (id: string) => waitForLogs(stores.logs, id) : undefined;
  const queue = new JobQueue({ connection: options.queueConnection, prefix: options.queuePrefix });
  const relay = new OutboxRelay({
    deployments: stores.deployments,
    queue,
    sql: options.sql,
    logger,
    pollIntervalMs: options.relayPollMs,
    resyncIntervalMs: options.resyncIntervalMs,
    resyncGraceMs: options.resyncGraceMs,
  });
  const builds = consumeJobs(
    'build',
    (payload, ctx) =>
      runBuildJob(
        {
          ...stores,
          fetcher: options.fetcher,
          runtime: options.runtime,
          settings: options.settings,
          capacity: options.capacity,
          logger,
        },
        payload.deploymentId,
        ctx,
      ),
    {
      connection: options.workerConnection,
      prefix: options.queuePrefix,
      concurrency: options.buildConcurrency,
      lockDurationMs: options.lockDurationMs,
      stalledIntervalMs: options.stalledIntervalMs,
    },
  );
  const deployDeps = {
    ...stores,
    images: options.runtime,
    logger,
    capacity: options.capacity,
    releasePhase: { stores, workload: options.workload, networks: options.containers, instance: options.instance, logsCollected },
  };
  const deploys = consumeJobs('deploy', (payload, ctx) => runDeployJob(deployDeps, payload.deploymentId, ctx), {
    connection: options.workerConnection,
    prefix: options.queuePrefix,
    // A deploy job writes desired state and may wait for a linked service: short, mostly waiting.
    concurrency: 8,
    lockDurationMs: options.lockDurationMs,
    stalledIntervalMs: options.stalledIntervalMs,
  });
  for (const [name, worker] of [
    ['build', builds],
    ['deploy', deploys],
  ] as const) {
    worker.on('error', (err) => logger.warn({ err }, `${name} consumer: connection error`));
    worker.on('failed', (job, err) => {
      logger.warn({ jobId: job?.id, err }, `${name} job failed`);
      // Out of retries: the deployment must not stay in flight forever.
      if (job?.id && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        const reason = `internal error after ${job.attemptsMade} attempts: ${err.message}`;
        void stores.deployments
          .transition(job.id, ['building', 'deploying'], 'failed', { reason, finishedAt: new Date() })
          .catch((e: unknown) => logger.error({ err: e, deploymentId: job.id }, 'could not mark the deployment failed'));
      }
    });
  }
  const reconciler = new Reconciler({
    stores,
    workload: options.workload,
    networks: options.containers,
    instance: options.instance,
    baseDomain: options.baseDomain,
    healthStartPeriodMs: options.healthStartPeriodMs,
    logger,
    intervalMs: options.reconcileIntervalMs,
    leaseMs: options.reconcileLeaseMs,
    plan: options.reconcilePlan,
    wakeOn: listenTo(options.sql, ROLLOUTS_CHANNEL),
    logMaxBytes: options.settings.logMaxBytes,
  });
  const serviceOperator = new ServiceOperator({
    services: stores.services,
    operations: stores.serviceOperations,
    roles: stores.serviceRoles,
    containers: options.containers,
    sql: options.sql,
    logger,
    instance: options.instance,
    backupDirectory: options.backupDirectory,
    ...options.serviceTimings,
  });
  await relay.start();
  reconciler.start();
  await serviceOperator.start();
  const volumeOperator = options.volumeOperator
    ? new VolumeOperator({
        ...options.volumeOperator,
        volumes: stores.volumes,
        operations: stores.volumeOperations,
        containers: options.containers,
        sql: options.sql,
        logger,
        instance: options.instance,
        backupDirectory: options.backupDirectory,
      })
    : null;
  volumeOperator?.start();
  const certificates = options.certificates
    ? new CertificateRenewer({ ...options.certificates, logger, sql: options.sql })
    : null;
  certificates?.start();
  const runs = new RunExecutor({
    stores,
    logsCollected,
    workload: options.workload,
    networks: options.containers,
    instance: options.instance,
    logger,
    holder: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    wakeOn: listenTo(options.sql, RUNS_CHANNEL),
    logMaxBytes: options.settings.logMaxBytes,
    capacity: options.capacity,
    ...options.runTimings,
  });
  runs.start();
  const cron = new CronScheduler({ stores, logger, intervalMs: options.runTimings?.cronIntervalMs });
  cron.start();
  const retention = options.retention
    ? new RecordRetention({
        ...options.retention,
        deployments: stores.deployments,
        deliveries: stores.deliveries,
        checks: stores.checks,
        runs: stores.runs,
        logger,
        events: stores.events,
      })
    : null;
  retention?.start();
  const resealer = new SecretResealer({ ...options.resealing, values: stores.sealedValues, logger });
  resealer.start();
  const imageSweeper = new AppImageSweeper({
    apps: stores.apps,
    runtime: options.runtime,
    containers: options.containers,
    sql: options.sql,
    instance: options.instance,
    logger,
  });
  await imageSweeper.start();
  const checksDeadline = new ChecksDeadline({ checks: stores.checks, logger, intervalMs: options.checksDeadlineIntervalMs });
  checksDeadline.start();
  const { retentionDays, retentionMb, ...collectorTimings } = options.appLogs ?? { retentionDays: 0, retentionMb: 0 };
  const logCollector = options.appLogs
    ? new LogCollector({
        ...collectorTimings,
        containers: options.containers,
        logs: stores.logs,
        leases: stores.leases,
        holder: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
        instance: options.instance,
        logger,
        masks: new OneOffMasks({ stores }),
      })
    : null;
  logCollector?.start();
  const metricsCollector = options.metrics
    ? new MetricsCollector({ ...options.metrics, stores, workload: options.workload, instance: options.instance, logger })
    : null;
  metricsCollector?.start();
  const metricsRollup = options.metrics
    ? new MetricsRollup({ stores, logger, intervalMs: options.metrics.rollupIntervalMs })
    : null;
  metricsRollup?.start();
  const logRetention = options.appLogs
    ? new LogRetention({ logs: stores.logs, leases: stores.leases, maxAgeDays: retentionDays, maxMb: retentionMb, logger })
    : null;
  logRetention?.start();
  const notifier = options.notifier
    ? new Notifier({
        ...options.notifier,
        queue: stores.notificationQueue,
        logger,
        wakeOn: listenTo(options.sql, EVENTS_CHANNEL),
      })
    : null;
  notifier?.start();
  const releaseWatcher = new ReleaseWatcher({ stores, logger, intervalMs: options.rollbackWatchIntervalMs });
  releaseWatcher.start();
  const hostAlerts = options.hostAlerts ? new HostAlertWatch({ ...options.hostAlerts, stores, logger }) : null;
  hostAlerts?.start();
  const missedSlots = new MissedSlotWatch({ ...options.missedSlots, stores, logger });
  missedSlots.start();
  const drainForwarder = options.drains ? new DrainForwarder({ ...options.drains, stores, logger }) : null;
  drainForwarder?.start();
  return {
    queue,
    relay,
    builds,
    deploys,
    reconciler,
    serviceOperator,
    volumeOperator,
    certificates,
    retention,
    resealer,
    checksDeadline,
    releaseWatcher,
    hostAlerts,
    missedSlots,
    runs,
    cron,
    imageSweeper,
    logCollector,
    metricsCollector,
    drainForwarder,
    notifier,
    stop: async () => {
      await notifier?.stop();
      await metricsCollector?.stop();
      await metricsRollup?.stop();
      await drainForwarder?.stop();
      await logRetention?.stop();
      await imageSweeper.stop();
      await releaseWatcher.stop();
      await hostAlerts?.stop();
      await missedSlots.stop();
      await checksDeadline.stop();
      await resealer.stop();
      await retention?.stop();
      await certificates?.stop();
      await volumeOperator?.stop();
      await cron.stop();
      await runs.stop();
      await serviceOperator.stop();
      await reconciler.stop();
      // After the loops that stop containers, so that their last lines are read first.
      await logCollector?.stop();
      await relay.stop();
      await Promise.all([builds.close(), deploys.close()]);
      await queue.close();
    },
  };
}
