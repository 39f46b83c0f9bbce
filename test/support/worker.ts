import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { SecretBox } from '@pier/core';
import { createStores, type Database } from '@pier/db';
import { DockerRuntime, DockerWorkload } from '@pier/docker';
import { createLogger } from '@pier/log';
import { GitSourceFetcher } from '@pier/source';
import { Redis } from 'ioredis';
import type { BuildSettings } from '../../apps/worker/src/build-job.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../apps/worker/src/worker-runtime.ts';
import { TEST_REDIS_URL } from './env.ts';

/** Base images built by scripts/base-images.sh: no registry is needed. */
export const LOCAL_IMAGES = { node: 'pier-local/node', python: 'pier-local/python', procfile: 'pier-local/debian:bookworm' };

export interface TestWorker {
  runtime: WorkerRuntime;
  docker: DockerRuntime;
  /** The queue key prefix this worker uses. */
  prefix: string;
  logs: string[];
  stop(): Promise<void>;
}

export interface TestWorkerOptions {
  redisUrl?: string;
  prefix?: string;
  settings?: Partial<BuildSettings>;
  reconcileIntervalMs?: number;
  reconcilePlan?: Parameters<typeof startWorkerRuntime>[0]['reconcilePlan'];
  /** The reconciler's lease: shorter to see a takeover sooner. */
  reconcileLeaseMs?: number;
  /** The installation name on its containers; default the queue prefix. Workers of one installation share it. */
  instance?: string;
  /** Where backups go; default a fresh temporary directory. */
  backupDirectory?: string;
  serviceTimings?: Parameters<typeof startWorkerRuntime>[0]['serviceTimings'];
  /** How long nothing may listen on a new replica's port before its gate fails (default 30 s). */
  healthStartPeriodMs?: number;
  /** Runs the log collector (apps' container output into the log store), as run-worker.ts does; default off. */
  collectLogs?: boolean;
}

/** The real worker loops in this process, on a private queue prefix, building with the real Docker. */
export async function startTestWorker(database: Database, box: SecretBox, options: TestWorkerOptions = {}): Promise<TestWorker> {
  const prefix = options.prefix ?? `pier-test-${randomBytes(4).toString('hex')}`;
  const workDirectory = mkdtempSync(join(tmpdir(), 'pier-work-'));
  const logs: string[] = [];
  const logger = createLogger({
    name: 'worker',
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  const url = options.redisUrl ?? TEST_REDIS_URL;
  const queueConnection = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const workerConnection = new Redis(url, { maxRetriesPerRequest: null });
  for (const c of [queueConnection, workerConnection]) c.on('error', () => {});
  const docker = new DockerRuntime();
  const runtime = await startWorkerRuntime({
    stores: createStores(database.db, box),
    sql: database.sql,
    fetcher: new GitSourceFetcher({ allowFileUrls: true, tempDirectory: workDirectory }),
    runtime: docker,
    workload: new DockerWorkload(docker.containers),
    containers: docker,
    backupDirectory: options.backupDirectory ?? mkdtempSync(join(tmpdir(), 'pier-backups-')),
    serviceTimings: { pollIntervalMs: 500, reconcileIntervalMs: 2000, readyTimeoutMs: 90_000, ...options.serviceTimings },
    // As run-worker.ts does: app volumes' Docker volumes (labelled), backups, restores and deletions.
    volumeOperator: { image: LOCAL_IMAGES.procfile, pollIntervalMs: 500 },
    settings: {
      images: LOCAL_IMAGES,
      workDirectory,
      timeoutMs: 5 * 60_000,
      memoryBytes: 1024 * 1024 * 1024,
      maxContextBytes: 50 * 1024 * 1024,
      minFreeDiskBytes: 256 * 1024 * 1024,
      keepImages: 5,
      ...options.settings,
    },
    logger,
    queueConnection,
    workerConnection,
    queuePrefix: prefix,
    instance: options.instance ?? prefix,
    baseDomain: 'pier.test',
    healthStartPeriodMs: options.healthStartPeriodMs,
    buildConcurrency: 2,
    relayPollMs: 200,
    resyncIntervalMs: 2000,
    resyncGraceMs: 1000,
    reconcileIntervalMs: options.reconcileIntervalMs ?? 2000,
    reconcilePlan: options.reconcilePlan,
    reconcileLeaseMs: options.reconcileLeaseMs,
    ...(options.collectLogs ? { appLogs: { retentionDays: 7, retentionMb: 100, discoverIntervalMs: 250 } } : {}),
  });
  return {
    runtime,
    docker,
    prefix,
    logs,
    stop: async () => {
      await runtime.stop();
      queueConnection.disconnect();
      workerConnection.disconnect();
      rmSync(workDirectory, { recursive: true, force: true });
    },
  };
}
