import type { CapacityCheck, ContainerOperations, ContainerRuntime, SourceFetcher, Workload } from '@pier/core';
import type { Stores } from '@pier/db';
import { listenTo, ROLLOUTS_CHANNEL, RUNS_CHANNEL } from '@pier/db';
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
import { logsCollected as waitForLogs } from './logs/logs-collected.ts';
import { type ObservabilityLoops, type ObservabilityOptions, startObservability } from './observability.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { RecordRetention, type RecordRetentionOptions } from './record-retention.ts';
import { CronScheduler } from './runs/cron-scheduler.ts';
import { RunExecutor, type RunExecutorOptions } from './runs/run-executor.ts';
import { SecretResealer, type SecretResealerOptions } from './secret-resealer.ts';
import { ServiceOperator, type ServiceOperatorOptions } from './services/service-operator.ts';
import { VolumeOperator, type VolumeOperatorOptions } from './volumes/volume-operator.ts';
import { workerHolder } from './worker-lease.ts';

export interface WorkerRuntimeOptions extends ObservabilityOptions {
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
  /** Timings of re-sealing secrets after a key rotation (tests shorten them). */
  resealing?: Omit<SecretResealerOptions, 'values' | 'logger'>;
  /** Timings of the one-off run executor and the cron scheduler (tests shorten them). */
  runTimings?: Pick<RunExecutorOptions, 'leaseMs' | 'pollIntervalMs' | 'concurrency'> & { cronIntervalMs?: number };
}

export interface WorkerRuntime extends ObservabilityLoops {
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
  /** Starts queued one-off and cron runs. */
  runs: RunExecutor;
  /** Queues cron runs at their slots. */
  cron: CronScheduler;
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
    holder: workerHolder(),
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
  const observability = startObservability(options);
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
    runs,
    cron,
    imageSweeper,
    ...observability.loops,
    stop: async () => {
      await observability.stop();
      await imageSweeper.stop();
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
      await observability.stopLogCollector();
      await relay.stop();
      await Promise.all([builds.close(), deploys.close()]);
      await queue.close();
    },
  };
}
