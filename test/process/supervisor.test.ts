import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { signPayload } from '@pier/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { removeAppFromDocker, versionedApp } from '../support/deploy-app.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { startLoad, summarize } from '../support/load-client.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import { pushPayload } from '../support/webhooks.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';

/**
 * "The default run keeps apps serving": under scripts/start-all.ts (what `npm
 * run up` runs), `kill -9` of the worker and then of the api while a load
 * client goes through the proxy to a deployed app. Every request is answered,
 * both come back under new pids, the new worker deploys another release, and
 * a SIGTERM to the supervisor alone still stops all three.
 */

const run = randomBytes(3).toString('hex');
const app = `sup-${run}`;
const host = `${app}-staging.pier.test`;
const docker = new DockerRuntime();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const NAMES = ['api', 'worker', 'proxy'] as const;
type Name = (typeof NAMES)[number];

/** Polls `check` until it returns a value; an error it throws ends the wait at once. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(everyMs);
  }
}

/** The supervisor's children by the entry point they run, from /proc (no help from the supervisor's own output). */
function childPids(parent: number): Partial<Record<Name, number>> {
  const pids: Partial<Record<Name, number>> = {};
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${parent}/task`);
  } catch {
    return pids; // the supervisor is gone
  }
  for (const task of tasks) {
    let children: string;
    try {
      children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const pid of children.split(' ').filter(Boolean).map(Number)) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      const name = NAMES.find((n) => cmdline.includes(`apps/${n}/src/main.ts`));
      if (name) pids[name] = pid;
    }
  }
  return pids;
}

/**
 * Processes of the process group `pgid` that have not exited, as "pid stat args". Zombies are left out: the
 * esbuild helper of a SIGKILLed process (tsx's) exits by itself, but is reaped only by whatever init the machine has.
 */
function livingInGroup(pgid: number): string[] {
  let listing: string;
  try {
    listing = execFileSync('ps', ['-o', 'pid=,stat=,args=', '-g', String(pgid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when nothing matches
  }
  return listing
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^\d+\s+Z/.test(line));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('start-all keeps apps serving', () => {
  const adminToken = randomBytes(32).toString('hex');
  const dirs: string[] = [];
  let database: TestDatabase;
  let repo: TestGitRepository;
  let supervisor: RunningProcess;
  let apiUrl: string;
  let httpPort: number;
  let adminPort: number;

  const workerStarts = () => supervisor.output().split('"msg":"worker started"').length - 1;

  beforeAll(async () => {
    database = await createTestDatabase();
    repo = new TestGitRepository();
    const [workDir, snapshotDir, backupDir] = ['work', 'snapshot', 'backups'].map((what) => {
      const dir = mkdtempSync(join(tmpdir(), `pier-supervisor-${what}-`));
      dirs.push(dir);
      return dir;
    }) as [string, string, string];
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    [httpPort, adminPort] = [await freePort(), await freePort()];
    // start-all.ts passes its environment on: one environment for all three processes.
    supervisor = startScript('scripts/start-all.ts', {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      PIER_SECRET_KEY: randomBytes(32).toString('base64'),
      PIER_PROXY_KEY: randomBytes(32).toString('base64'),
      PIER_BASE_DOMAIN: 'pier.test',
      PIER_LOG_FORMAT: 'json',
      PIER_LOG_LEVEL: 'info',
      PIER_API_PORT: String(apiPort),
      PIER_ADMIN_TOKEN: adminToken,
      PIER_ALLOW_FILE_REPOS: 'true',
      PIER_IMAGE_NODE: LOCAL_IMAGES.node,
      PIER_IMAGE_PYTHON: LOCAL_IMAGES.python,
      PIER_IMAGE_PROCFILE: LOCAL_IMAGES.procfile,
      PIER_IMAGE_POSTGRES: 'pier-local/postgres',
      PIER_IMAGE_REDIS: 'pier-local/redis',
      PIER_WORK_DIR: workDir,
      PIER_BACKUP_DIR: backupDir,
      PIER_QUEUE_PREFIX: `pier-sup-${run}`,
      PIER_INSTANCE: `sup-${run}`,
      PIER_MIN_FREE_DISK_MB: '100',
      PIER_BUILD_LOCK_MS: '4000',
      PIER_BUILD_STALLED_CHECK_MS: '2000',
      PIER_HTTP_PORT: String(httpPort),
      PIER_HTTPS_PORT: String(await freePort()),
      PIER_PROXY_ADMIN_PORT: String(adminPort),
      PIER_PROXY_SNAPSHOT: join(snapshotDir, 'routes.json'),
    });
    const failed = (err: Error) => {
      throw new Error(`${err.message}\nsupervisor output:\n${supervisor.output().slice(-6000)}`);
    };
    await Promise.all([
      waitForHttp(`${apiUrl}/health`, 200, 30_000),
      waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 30_000),
      until('the worker has started', async () => workerStarts() === 1, 30_000),
    ]).catch(failed);
  }, 90_000);

  afterAll(async () => {
    if (supervisor && supervisor.child.exitCode === null && supervisor.child.signalCode === null) {
      try {
        signalGroup(supervisor, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await exitWithin(supervisor, 10_000).catch(() => {});
    }
    await removeAppFromDocker(docker, app);
    await database?.destroy();
    repo?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function apiCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: await res.json() };
  }

  /** Commits `version`, delivers a signed push to the api process and waits until the deployment is live. */
  async function deploy(webhookSecret: string, version: string): Promise<void> {
    const sha = repo.commit(versionedApp(version), version);
    repo.push();
    const body = Buffer.from(JSON.stringify(pushPayload(`acme/${app}`, 'refs/heads/main', sha)));
    const delivery = await fetch(`${apiUrl}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signPayload(body, webhookSecret),
        'user-agent': 'GitHub-Hookshot/test',
      },
      body,
    });
    expect(delivery.status).toBe(202);
    const id = ((await delivery.json()) as { deployments: { id: string }[] }).deployments[0]?.id as string;
    await until(
      `deployment ${version} is live`,
      async () => {
        const { json } = await apiCall('GET', `/deployments/${id}`);
        if (json.state === 'failed' || json.state === 'cancelled') throw new Error(`deployment ${json.state}: ${json.reason}`);
        return json.state === 'live';
      },
      150_000,
      500,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\nsupervisor output:\n${supervisor.output().slice(-6000)}`);
    });
  }

  /** Waits until the supervisor runs `name` under a pid other than `old`. */
  function restarted(name: Name, old: number): Promise<number> {
    return until(
      `the supervisor has started the ${name} again`,
      async () => {
        const pid = childPids(supervisor.child.pid as number)[name];
        return pid !== undefined && pid !== old ? pid : undefined;
      },
      30_000,
      100,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\nsupervisor output:\n${supervisor.output().slice(-6000)}`);
    });
  }

  it('kill -9 of the worker and of the api: 0 failed requests through the proxy, both restarted, the worker deploys again', async () => {
    const created = await apiCall('POST', '/apps', { name: app, repository: { fullName: `acme/${app}`, cloneUrl: repo.url } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const patched = await apiCall('PATCH', `/apps/${app}/environments/staging`, {
      replicas: 2,
      drainTimeoutMs: 1000,
      healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 20_000 },
    });
    expect(patched.status, JSON.stringify(patched.json)).toBe(200);
    await deploy(created.json.webhookSecret, 'sup-v1');
    await waitForHttpThroughProxy('sup-v1');

    const before = childPids(supervisor.child.pid as number);
    expect(Object.keys(before).sort()).toEqual(['api', 'proxy', 'worker']);
    const load = startLoad({ port: httpPort, host, concurrency: 4, maxDurationMs: 120_000, requestTimeoutMs: 5000 });
    try {
      await until('the load client is under way', async () => load.samples.length >= 100, 20_000, 50);

      process.kill(before.worker as number, 'SIGKILL');
      const worker = await restarted('worker', before.worker as number);
      await until('the new worker has started', async () => workerStarts() === 2, 30_000);

      process.kill(before.api as number, 'SIGKILL');
      const api = await restarted('api', before.api as number);
      await waitForHttp(`${apiUrl}/health`, 200, 30_000);

      // The proxy was never touched: same process throughout.
      expect(childPids(supervisor.child.pid as number)).toEqual({ api, worker, proxy: before.proxy });
      const sentBefore = load.samples.length;
      await until('more requests have gone through', async () => load.samples.length >= sentBefore + 100, 20_000, 50);
    } finally {
      await load.stop();
    }
    const summary = summarize(load.samples);
    console.log(
      `supervisor: ${summary.sent} requests through the proxy while the worker and the api were killed, ${summary.failed.length} failed`,
    );
    expect(summary.failed.slice(0, 10), `${summary.failed.length} of ${summary.sent} failed`).toEqual([]);
    expect(summary.sent).toBeGreaterThan(200);

    const output = supervisor.output();
    for (const name of ['worker', 'api']) {
      expect(output).toMatch(
        new RegExp(
          `pier: ${name} \\(pid ${before[name as Name]}\\) was killed by SIGKILL after .*; restarting it in 1 s \\(restart 1 in a row`,
        ),
      );
    }

    // The new worker does its job: another release, built and rolled out through the new api.
    await deploy(created.json.webhookSecret, 'sup-v2');
    await waitForHttpThroughProxy('sup-v2');

    // A SIGTERM to the supervisor alone stops all three and waits for them.
    const last = childPids(supervisor.child.pid as number);
    expect(Object.keys(last).sort()).toEqual(['api', 'proxy', 'worker']);
    supervisor.child.kill('SIGTERM');
    expect(await exitWithin(supervisor, 45_000)).toBe(0);
    for (const pid of Object.values(last)) expect(alive(pid), `pid ${pid} still running`).toBe(false);
    expect(livingInGroup(supervisor.child.pid as number)).toEqual([]);
  }, 420_000);

  async function waitForHttpThroughProxy(body: string): Promise<void> {
    await until(`the proxy serves ${body}`, async () => (await getThroughProxy().catch(() => null)) === `200 ${body}`, 30_000);
  }

  /** "<status> <body>" of GET / through the proxy with the app's Host header (fetch cannot set it). */
  function getThroughProxy(): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host }, timeout: 2000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }
});
