import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { removeAppFromDocker } from '../support/deploy-app.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import { getViaProxy, type ProxyAnswer, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { apiProcessEnv, workerProcessEnv } from '../support/worker-process.ts';

/**
 * Issue 14, "Done means": a release that starts answering 500 to a share of
 * requests after its health gate passed is rolled back automatically within
 * the window, with the reason in the event log. Real api, worker and proxy
 * processes on real Docker: release 2's /health answers 200 (its gate
 * passes) while every second request to / answers 500; a load client sends
 * requests through the proxy all along, the proxy counts them into
 * request_metrics, the worker's release watcher sees the spike against
 * release 1's clean answers and rolls back; the live release is v1 again and
 * a promotion of v2 is refused.
 */

const run = randomBytes(3).toString('hex');
const app = `spike-${run}`;
const host = `${app}-staging.pier.test`;
const instance = `spike-${run}`;
const secretKey = randomBytes(32);
const adminToken = randomBytes(32).toString('hex');
const docker = new DockerRuntime();
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-spike-work-'));
/** The watch's window in this test: short, yet far longer than the rollback needs. */
const WINDOW_SECONDS = 60;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: TestDatabase;
let repo: TestGitRepository;
let apiProcess: RunningProcess;
let workerProcess: RunningProcess;
let proxy: TestProxy;
let apiUrl: string;

/** Answers /health 200 always; `/` answers its version, or, when `broken`, 500 to every second request. */
function spikyApp(version: string, broken: boolean): Record<string, string> {
  return {
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
    'server.js': `
const http = require('http');
let n = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('health');
  n += 1;
  if (${broken} && n % 2 === 0) { res.statusCode = 500; return res.end('broken'); }
  res.end('${version}');
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  };
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

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

async function deployment(id: string, states: string[], timeoutMs: number) {
  return until(
    `deployment ${id} is ${states.join(' or ')}`,
    async () => {
      const { json } = await call('GET', `/deployments/${id}`);
      return states.includes(json.state) ? json : undefined;
    },
    timeoutMs,
    300,
  );
}

/** Commits `files`, deploys the commit to staging and waits until it is live. */
async function deploy(files: Record<string, string>, message: string): Promise<{ id: string; finishedAt: string }> {
  const sha = repo.commit(files, message);
  repo.push();
  const res = await call('POST', `/apps/${app}/environments/staging/deployments`, { commit: sha });
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  // Release 2 may be live only a moment before its rollback supersedes it.
  const done = await deployment(res.json.id, ['live', 'superseded', 'failed'], 120_000);
  expect(done.state, done.reason).not.toBe('failed');
  return done;
}

/** A paced load client through the proxy: one request every 20 ms, each on a fresh connection, until stopped. */
function startPacedLoad(port: number) {
  const answers: ProxyAnswer[] = [];
  const failures: string[] = [];
  let stopped = false;
  const loop = (async () => {
    const deadline = Date.now() + 150_000;
    while (!stopped && Date.now() < deadline) {
      try {
        answers.push(await getViaProxy(port, host, '/', 5000));
      } catch (err) {
        failures.push((err as Error).message);
      }
      await sleep(20);
    }
  })();
  return {
    answers,
    failures,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  repo = new TestGitRepository();
  const apiPort = await freePort();
  apiUrl = `http://127.0.0.1:${apiPort}`;
  apiProcess = startScript('apps/api/src/main.ts', apiProcessEnv({ databaseUrl: database.url, secretKey, apiPort, adminToken }));
  workerProcess = startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: database.url, secretKey, workDirectory },
      {
        PIER_QUEUE_PREFIX: `pier-spike-${run}`,
        PIER_INSTANCE: instance,
        PIER_ROLLBACK_WATCH_INTERVAL_MS: '500',
        PIER_LOG_LEVEL: 'info',
      },
    ),
  );
  const [started] = await Promise.all([
    startTestProxy(database.url, { PIER_PROXY_METRICS_FLUSH_MS: '500' }),
    waitForHttp(`${apiUrl}/health`, 200, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}\napi output:\n${apiProcess.output()}`);
    }),
    until(
      'the worker has started',
      async () => {
        if (workerProcess.child.exitCode !== null) throw new Error(`the worker exited:\n${workerProcess.output()}`);
        return workerProcess.output().includes('"msg":"worker started"');
      },
      60_000,
    ),
  ]);
  proxy = started;
  const created = await call('POST', '/apps', { name: app, repository: { fullName: `acme/${app}`, cloneUrl: repo.url } });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const patched = await call('PATCH', `/apps/${app}/environments/staging`, {
    replicas: 1,
    drainTimeoutMs: 500,
    healthCheck: { path: '/health', intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 15_000 },
    autoRollback: { windowSeconds: WINDOW_SECONDS },
  });
  expect(patched.status, JSON.stringify(patched.json)).toBe(200);
  expect(patched.json.autoRollback).toEqual({
    enabled: true,
    windowSeconds: WINDOW_SECONDS,
    errorRate: 0.25,
    minRequests: 20,
    restarts: 3,
  });
}, 120_000);

afterAll(async () => {
  for (const proc of [apiProcess, workerProcess]) {
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) continue;
    signalGroup(proc, 'SIGTERM');
    await exitWithin(proc, 20_000).catch(() => {
      signalGroup(proc, 'SIGKILL');
      return proc.exited;
    });
  }
  await proxy?.stop();
  for (const c of await docker.listContainers({ 'pier.instance': instance }).catch(() => [])) {
    await docker.removeContainer(c.id).catch(() => {});
  }
  await removeAppFromDocker(docker, app);
  await database?.destroy();
  repo?.remove();
  rmSync(workDirectory, { recursive: true, force: true });
}, 60_000);

describe('automatic rollback on an error spike', () => {
  it('rolls a release that answers 500 to half its requests back to the one before, within the window, and says why', async () => {
    await deploy(spikyApp('v1', false), 'v1');
    const load = startPacedLoad(proxy.httpPort);
    try {
      // Release 1's clean answers: its baseline (the proxy flushes its counts every 500 ms).
      await until(
        'v1 answered 30 requests through the proxy',
        async () => load.answers.filter((a) => a.body === 'v1').length >= 30,
        30_000,
      );
      await deploy(spikyApp('v2', true), 'v2 breaks / after its health gate');

      // The watcher sees the spike and queues the rollback; the live release is v1 again.
      const status = await until(
        'the live release is v1 again after an automatic rollback',
        async () => {
          const { json } = await call('GET', `/apps/${app}/environments/staging/status`);
          return json.liveRelease?.version === 1 && json.rolledBack?.release === 2 ? json : undefined;
        },
        WINDOW_SECONDS * 1000,
        300,
      ).catch(async (err: Error) => {
        const watches = await database.sql`select * from release_watches`;
        const metrics = await database.sql`select release_id, at, status_2xx, status_5xx from request_metrics order by at`;
        const releases = await database.sql`select id, version from releases`;
        throw new Error(
          `${err.message}\nwatches: ${JSON.stringify(watches)}\nmetrics: ${JSON.stringify(metrics)}\nreleases: ${JSON.stringify(releases)}\nanswers: ${load.answers.length}, 500s: ${load.answers.filter((a) => a.status === 500).length}\nworker:\n${workerProcess
            .output()
            .split('\n')
            .filter((l) => /watch|roll|error|warn/i.test(l))
            .slice(-30)
            .join('\n')}\nproxy:\n${proxy.process.output().slice(-3000)}`,
        );
      });
      const rollback = await deployment(status.rolledBack.deployment, ['live'], 30_000);
      expect(rollback.trigger).toBe('rollback');
      // Decided within the window after v2 went live (the switch began the watch).
      const [watch] = await database.sql<{ decided_after_ms: number; started_ms: number; state: string }[]>`
        select state, (extract(epoch from finished_at - started_at) * 1000)::float8 as decided_after_ms,
          (extract(epoch from started_at) * 1000)::float8 as started_ms
        from release_watches w join releases r on r.id = w.release_id where r.version = 2`;
      expect(watch?.state).toBe('rolled_back');
      expect(watch?.decided_after_ms).toBeGreaterThan(0);
      expect(watch?.decided_after_ms).toBeLessThan(WINDOW_SECONDS * 1000);
      // v2 answered 500 through the proxy, and only once the switch had made it live.
      const broken = load.answers.filter((a) => a.status === 500 && a.body === 'broken');
      expect(broken.length).toBeGreaterThan(0);
      expect(Math.min(...broken.map((a) => a.endedAt))).toBeGreaterThanOrEqual(Math.floor(watch?.started_ms ?? 0));
      console.log(`rolled back ${Math.round(watch?.decided_after_ms ?? 0)} ms after v2 went live: ${status.rolledBack.reason}`);
      expect(status.rolledBack.reason).toMatch(
        /^release v2 answered 5xx to \d+% of requests \(\d+ of \d+\) within \d+ s of going live; v1 answered 0%$/,
      );
      const share = Number(/to (\d+)%/.exec(status.rolledBack.reason)?.[1]);
      expect(share).toBeGreaterThanOrEqual(25);
      expect(share).toBeLessThanOrEqual(75);

      // The reason is in the event log, and in the releases list.
      const events = await call('GET', `/apps/${app}/events?kind=deploy.auto_rollback`);
      expect(events.status, JSON.stringify(events.json)).toBe(200);
      expect(events.json.events.map((e: { kind: string; message: string }) => [e.kind, e.message])).toEqual([
        ['deploy.auto_rollback', `${status.rolledBack.reason}: rolling back to v1`],
      ]);
      const releases = await call('GET', `/apps/${app}/environments/staging/releases`);
      expect(releases.json.releases.find((r: { version: number }) => r.version === 2).rolledBack.reason).toBe(
        status.rolledBack.reason,
      );

      // Requests sent a moment after the rollback went live are answered by v1 again.
      const liveAt = Date.parse(rollback.finishedAt);
      await until(
        'v1 answered 20 requests after the rollback',
        async () => {
          return load.answers.filter((a) => a.startedAt > liveAt + 1000).length >= 20;
        },
        20_000,
      );
      const after = load.answers.filter((a) => a.startedAt > liveAt + 1000);
      expect(after.map((a) => `${a.status} ${a.body}`)).toEqual(after.map(() => '200 v1'));
      expect(load.failures).toEqual([]);
    } finally {
      await load.stop();
    }

    // Release 2 is not promoted.
    const promoted = await call('POST', `/apps/${app}/environments/production/promote`, { from: 'staging', release: 2 });
    expect(promoted.status).toBe(409);
    expect(promoted.json.error.message).toContain('release v2 of staging was rolled back automatically (release v2 answered 5xx');
  }, 150_000);
});
