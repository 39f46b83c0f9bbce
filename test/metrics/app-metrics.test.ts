import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { removeAppFromDocker } from '../support/deploy-app.ts';
import { startLoad, summarize } from '../support/load-client.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { apiProcessEnv, workerProcessEnv } from '../support/worker-process.ts';

/**
 * Issue 14, "Done means": metrics of an app under a load client show its
 * request rate and latency and the replica's memory; host disk is reported.
 * Real api, worker and proxy processes on real Docker: the proxy counts each
 * request into request_metrics (flushed every 500 ms), the worker's collector
 * samples the replica's Docker statistics and the host every second, and the
 * api serves them from Postgres (it has no Docker access): per environment,
 * for the host, and in Prometheus text for an admin token only.
 */

const run = randomBytes(3).toString('hex');
const app = `metered-${run}`;
const host = `${app}-staging.pier.test`;
const instance = `metered-${run}`;
const secretKey = randomBytes(32);
const adminToken = randomBytes(32).toString('hex');
const docker = new DockerRuntime();
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-metrics-work-'));
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: TestDatabase;
let repo: TestGitRepository;
let apiProcess: RunningProcess;
let workerProcess: RunningProcess;
let proxy: TestProxy;
let apiUrl: string;

/** Holds 64 MiB (touched, so resident) and answers `/` after about 20 ms. */
const APP = {
  Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
  'server.js': `
const http = require('http');
const held = Buffer.alloc(64 * 1024 * 1024, 1);
const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  setTimeout(() => res.end('metered ' + held[0]), 20);
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
};

async function call(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const res = await fetch(`${apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.token ?? adminToken}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: text.startsWith('{') ? JSON.parse(text) : null,
    type: res.headers.get('content-type'),
  };
}

/** Polls `check` until it returns a value (bounded). */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(everyMs);
  }
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
        PIER_QUEUE_PREFIX: `pier-metrics-${run}`,
        PIER_INSTANCE: instance,
        PIER_METRICS_INTERVAL_MS: '1000',
        PIER_LOG_LEVEL: 'info',
      },
    ),
  );
  const [started] = await Promise.all([
    startTestProxy(database.url, { PIER_PROXY_METRICS_FLUSH_MS: '500' }),
    waitForHttp(`${apiUrl}/health`, 200, 30_000),
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
  const created = await call('/apps', {
    method: 'POST',
    body: { name: app, repository: { fullName: `acme/${app}`, cloneUrl: repo.url } },
  });
  expect(created.status, created.text).toBe(201);
  const patched = await call(`/apps/${app}/environments/staging`, {
    method: 'PATCH',
    body: {
      replicas: 1,
      healthCheck: { path: '/health', intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 15_000 },
    },
  });
  expect(patched.status, patched.text).toBe(200);
  const sha = repo.commit(APP, 'metered');
  repo.push();
  const deployed = await call(`/apps/${app}/environments/staging/deployments`, { method: 'POST', body: { commit: sha } });
  expect(deployed.status, deployed.text).toBe(202);
  const done = await until(
    'the deployment is live',
    async () => {
      const { json } = await call(`/deployments/${deployed.json.id}`);
      return ['live', 'failed'].includes(json.state) ? json : undefined;
    },
    120_000,
    300,
  );
  expect(done.state, done.reason).toBe('live');
}, 180_000);

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

interface RequestPoint {
  requests: number;
  perSecond: number;
  byClass: Record<string, number>;
  latency: { p50: number | null; p95: number | null; p99: number | null };
  bytesOut: number;
}

describe('metrics of an app under load, through the real proxy, worker and api', () => {
  it("shows every request the load client sent, its rate and latency, and the replica's memory from Docker", async () => {
    // The proxy routes the environment once it has reloaded its routes after the switch: one 200 before the load.
    await until('the proxy serves the app', async () => (await getViaProxy(proxy.httpPort, host)).status === 200, 20_000);
    const load = startLoad({ port: proxy.httpPort, host, concurrency: 4, maxDurationMs: 4000 });
    await sleep(3000);
    const summary = summarize(await load.stop());
    expect(summary.failed, JSON.stringify(summary.failed.slice(0, 3))).toEqual([]);
    expect(summary.sent).toBeGreaterThan(50);

    // Every request counted, once: the proxy flushes every 500 ms.
    const answered = (points: RequestPoint[]) => points.reduce((sum, p) => sum + (p.byClass['2xx'] ?? 0), 0);
    const metrics = await until(
      'the api shows every request the load client sent',
      async () => {
        const { json } = await call(`/apps/${app}/environments/staging/metrics?since=10m&step=600`);
        return answered(json.requests) >= 1 + summary.sent ? json : undefined;
      },
      20_000,
    );
    const points = metrics.requests as RequestPoint[];
    // Each once: the load client's and the one 200 before it; nothing else answered 2xx.
    expect(answered(points)).toBe(1 + summary.sent);
    // Summed over the points: a 10-minute boundary may fall inside the test and split the requests over two.
    for (const point of points) expect(point.perSecond).toBeCloseTo(point.requests / 600, 9);
    expect(points.reduce((sum, p) => sum + p.bytesOut, 0)).toBeGreaterThan(summary.sent * 10);
    // The app answers after 20 ms: the median is in the 10–25 ms bucket or the next, never below.
    const busiest = points.reduce((most, p) => (p.requests > most.requests ? p : most));
    expect(busiest.latency.p50).toBeGreaterThan(0.01);
    expect(busiest.latency.p50).toBeLessThanOrEqual(0.05);

    // The replica's memory from Docker's statistics: the 64 MiB it holds, below the default limit of 512 MiB.
    const replica = await until(
      "the collector has sampled the replica's memory",
      async () => {
        const { json } = await call(`/apps/${app}/environments/staging/metrics?since=10m&step=60`);
        const web = json.processes.find((p: { type: string }) => p.type === 'web');
        const points = web?.replicas[0]?.points ?? [];
        return points.length > 0 ? points.at(-1) : undefined;
      },
      20_000,
    );
    expect(replica.memoryBytes).toBeGreaterThan(64 * MiB);
    expect(replica.memoryBytes).toBeLessThan(512 * MiB);
    expect(replica.memoryLimitBytes).toBe(512 * MiB);
    expect(replica.cpuCores).toBeGreaterThanOrEqual(0);
  });

  it("reports the host's disk (as statfs sees /) to an admin only", async () => {
    const token = (await call('/tokens', { method: 'POST', body: { name: 'metered', app } })).json.token as string;
    expect((await call('/host/metrics?since=10m', { token })).status).toBe(403);
    const body = await until(
      'the host has been sampled',
      async () => {
        const { json } = await call('/host/metrics?since=10m');
        return json.points.length > 0 ? json : undefined;
      },
      20_000,
    );
    const disk = statfsSync('/');
    const last = body.points.at(-1);
    expect(last.disks.root.totalBytes).toBe(disk.blocks * disk.bsize);
    expect(Math.abs(last.disks.root.freeBytes - disk.bavail * disk.bsize)).toBeLessThan(0.05 * disk.blocks * disk.bsize);
    expect(last.memoryTotalBytes).toBeGreaterThan(last.memoryAvailableBytes);
    expect(last.cpus).toBeGreaterThan(0);
  });

  it("serves Prometheus text with the app's labels, for an admin token only", async () => {
    const token = (await call('/tokens', { method: 'POST', body: { name: 'scraper', app } })).json.token as string;
    expect((await call('/metrics', { token })).status).toBe(403);
    const res = await call('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toMatch(new RegExp(`pier_requests_total\\{app="${app}",env="staging",code="2xx"\\} [1-9]\\d*\\n`));
    expect(res.text).toMatch(
      new RegExp(`pier_replica_memory_bytes\\{app="${app}",env="staging",process="web",replica="[^"]+"\\} \\d+`),
    );
    expect(res.text).toContain('pier_host_root_total_bytes{node="local"}');
  });
});
