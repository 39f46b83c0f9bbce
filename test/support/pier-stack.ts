import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { removeAppFromDocker } from './deploy-app.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from './processes.ts';
import { startTestProxy, type TestProxy } from './proxy.ts';
import { apiProcessEnv, workerProcessEnv } from './worker-process.ts';

/** A whole Pier of real processes: api, worker and proxy on a fresh test database. */
export interface PierStack {
  apiUrl: string;
  adminToken: string;
  database: TestDatabase;
  proxy: TestProxy;
  api: RunningProcess;
  worker: RunningProcess;
  /** PIER_INSTANCE: the label on every container this stack's worker starts. */
  instance: string;
  /** Stops the processes, removes the containers of `apps` and this instance's, drops the database. */
  stop(apps?: string[]): Promise<void>;
}

export interface PierStackOptions {
  /** Added to the worker's environment. */
  worker?: Record<string, string>;
  /** Added to the api's environment. */
  api?: Record<string, string>;
  /** Added to the proxy's environment (e.g. PIER_PROXY_METRICS_FLUSH_MS). */
  proxy?: Record<string, string>;
}

/** Starts api, worker and proxy processes as an operator would run them; resolves once all three answer. */
export async function startPierStack(options: PierStackOptions = {}): Promise<PierStack> {
  const run = randomBytes(3).toString('hex');
  const instance = `stack-${run}`;
  const secretKey = randomBytes(32);
  const adminToken = randomBytes(32).toString('hex');
  const workDirectory = mkdtempSync(join(tmpdir(), 'pier-stack-work-'));
  const database = await createTestDatabase();
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = startScript(
    'apps/api/src/main.ts',
    apiProcessEnv(
      { databaseUrl: database.url, secretKey, apiPort, adminToken },
      { PIER_IMAGE_POSTGRES: 'pier-local/postgres', PIER_IMAGE_REDIS: 'pier-local/redis', ...options.api },
    ),
  );
  const backupDirectory = join(workDirectory, 'backups');
  const worker = startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: database.url, secretKey, workDirectory },
      {
        PIER_QUEUE_PREFIX: `pier-${instance}`,
        PIER_INSTANCE: instance,
        PIER_LOG_LEVEL: 'info',
        PIER_BACKUP_DIR: backupDirectory,
        ...options.worker,
      },
    ),
  );
  const started = await Promise.allSettled([
    startTestProxy(database.url, options.proxy),
    waitForHttp(`${apiUrl}/health`, 200, 30_000),
    waitForOutput(worker, '"msg":"worker started"', 60_000),
  ]);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed || started[0].status !== 'fulfilled') {
    // Nothing of a half-started stack outlives the failure: its processes run in groups of their own.
    await stopProcesses([api, worker]);
    if (started[0].status === 'fulfilled') await started[0].value.stop();
    await database.destroy();
    rmSync(workDirectory, { recursive: true, force: true });
    throw (failed as PromiseRejectedResult).reason;
  }
  const proxy = started[0].value;
  const docker = new DockerRuntime();
  return {
    apiUrl,
    adminToken,
    database,
    proxy,
    api,
    worker,
    instance,
    async stop(apps = []) {
      await stopProcesses([api, worker]);
      await proxy.stop();
      for (const c of await docker.listContainers({ 'pier.instance': instance }).catch(() => [])) {
        await docker.removeContainer(c.id).catch(() => {});
      }
      for (const app of apps) await removeAppFromDocker(docker, app);
      await database.destroy();
      rmSync(workDirectory, { recursive: true, force: true });
    },
  };
}

/** SIGTERM to each process group, SIGKILL after 20 s, and waits for the exit. */
async function stopProcesses(processes: RunningProcess[]): Promise<void> {
  for (const proc of processes) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) continue;
    signalGroup(proc, 'SIGTERM');
    await exitWithin(proc, 20_000).catch(() => {
      signalGroup(proc, 'SIGKILL');
      return proc.exited;
    });
  }
}

async function waitForOutput(proc: RunningProcess, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.output().includes(text)) {
    if (proc.child.exitCode !== null) throw new Error(`the process exited:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
