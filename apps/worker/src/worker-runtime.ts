import type { ContainerRuntime, SourceFetcher } from '@pier/core';
import type { Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { consumeJobs, JobQueue } from '@pier/queue';
import type { ConnectionOptions, Worker } from 'bullmq';
import type postgres from 'postgres';
import { type BuildSettings, runBuildJob } from './build-job.ts';
import { OutboxRelay } from './outbox-relay.ts';

export interface WorkerRuntimeOptions {
  stores: Pick<Stores, 'apps' | 'variables' | 'deployments'>;
  sql: postgres.Sql;
  fetcher: SourceFetcher;
  runtime: ContainerRuntime;
  settings: BuildSettings;
  logger: Logger;
  /** For adding jobs: should fail fast while Redis is down (the relay retries). */
  queueConnection: ConnectionOptions;
  /** For consuming jobs: blocking commands, no retry limit. */
  workerConnection: ConnectionOptions;
  queuePrefix: string;
  buildConcurrency: number;
  relayPollMs?: number;
  resyncIntervalMs?: number;
  resyncGraceMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface WorkerRuntime {
  queue: JobQueue;
  relay: OutboxRelay;
  builds: Worker;
  stop(): Promise<void>;
}

/** The worker's loops: the outbox relay and the build consumer. */
export async function startWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { stores, logger } = options;
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
        { ...stores, fetcher: options.fetcher, runtime: options.runtime, settings: options.settings, logger },
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
  builds.on('error', (err) => logger.warn({ err: err.message }, 'build consumer: connection error'));
  builds.on('failed', (job, err) => logger.warn({ jobId: job?.id, err: err.message }, 'build job failed'));
  await relay.start();
  return {
    queue,
    relay,
    builds,
    stop: async () => {
      await relay.stop();
      await builds.close();
      await queue.close();
    },
  };
}
