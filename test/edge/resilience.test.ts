import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { signPayload } from '@pier/github';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createFastApp, removeAppFromDocker, servingPorts, versionedApp, waitForDeployment } from '../support/deploy-app.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { LOCAL_IMAGES, startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Issue 4, "Done means": an app that keeps crashing backs off with growing
 * delays and is reported crash-looping while another app is untouched; the
 * proxy keeps serving every request when the api and worker processes are
 * SIGKILLed; a proxy restarted with Postgres unreachable serves from its
 * snapshot.
 */

const run = randomBytes(3).toString('hex');
const docker = new DockerRuntime();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Answers /health (200) and / until it exits, on purpose, 3 s after start. */
function crashingApp(version: string): Record<string, string> {
  return {
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
    'server.js': `
const http = require('http');
const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('health');
  res.end('${version}');
});
server.listen(process.env.PORT);
setTimeout(() => { console.log('crashing on purpose'); process.exit(1); }, 3000);
`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A load client: `concurrency` loops, each sending one request after the other (keep-alive), a short pause between.

interface Answer {
  status: number;
  body: string;
}

interface Load {
  readonly sent: number;
  readonly failed: number;
  /** The first few failures, for the assertion message. */
  readonly failures: string[];
  stop(): Promise<void>;
}

function startLoad(send: () => Promise<Answer>, expected: string, concurrency: number, pauseMs: number): Load {
  let stopped = false;
  const state = { sent: 0, failed: 0, failures: [] as string[] };
  const fail = (what: string) => {
    state.failed += 1;
    if (state.failures.length < 10) state.failures.push(`${new Date().toISOString()} ${what}`);
  };
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) {
      state.sent += 1;
      try {
        const answer = await send();
        if (answer.status !== 200 || answer.body !== expected) fail(`${answer.status} ${answer.body.slice(0, 200)}`);
      } catch (err) {
        fail(`${(err as Error).name}: ${(err as Error).message}`);
      }
      await sleep(pauseMs);
    }
  });
  return {
    get sent() {
      return state.sent;
    },
    get failed() {
      return state.failed;
    },
    get failures() {
      return state.failures;
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** GET `path` on 127.0.0.1:port with `host` as Host header (fetch cannot set it), through a keep-alive pool. */
async function get(pool: Pool, path: string, host?: string): Promise<Answer> {
  const res = await pool.request({ method: 'GET', path, headers: host ? { host } : {}, headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: res.statusCode, body: await res.body.text() };
}

function localPool(port: number): Pool {
  return new Pool(`http://127.0.0.1:${port}`, { connections: 8, keepAliveTimeout: 2000 });
}

async function removeAppObjects(apps: string[]): Promise<void> {
  for (const app of apps) await removeAppFromDocker(docker, app);
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

// ---------------------------------------------------------------------------------------------------------------

describe('a crash-looping app', () => {
  const crashy = `crashy-${run}`;
  const steady = `steady-${run}`;
  const repos = new Map<string, { repo: TestGitRepository; secret: string }>();
  let api: TestApi;
  let worker: TestWorker;

  beforeAll(async () => {
    api = await createTestApi();
    worker = await startTestWorker(api.database, api.box, {
      reconcileIntervalMs: 1000,
      // resetAfterMs above the longest cycle (8 s backoff + start + 3 s of life), so a crash loop never looks "recovered".
      reconcilePlan: { backoffBaseMs: 1000, backoffMaxMs: 8000, unhealthyAfterMs: 3000, resetAfterMs: 20_000 },
    });
    for (const app of [crashy, steady]) {
      const repo = new TestGitRepository();
      const secret = await createFastApp(api, {
        name: app,
        fullName: `acme/${app}`,
        cloneUrl: repo.url,
        replicas: 1,
        drainTimeoutMs: 1000,
      });
      repos.set(app, { repo, secret });
    }
  });

  afterAll(async () => {
    await worker?.stop();
    await removeAppObjects([crashy, steady]);
    await api?.close();
    for (const { repo } of repos.values()) repo.remove();
  });

  async function push(app: string, files: Record<string, string>, message: string): Promise<string> {
    const { repo, secret } = repos.get(app) as { repo: TestGitRepository; secret: string };
    const sha = repo.commit(files, message);
    repo.push();
    const res = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha),
      secret,
    });
    expect(res.statusCode).toBe(202);
    return res.json().deployments[0].id as string;
  }

  async function status(app: string) {
    const res = await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/status` });
    expect(res.statusCode).toBe(200);
    return res.json() as {
      health: string;
      restartStreak: number;
      nextRestartAt: string | null;
      liveRelease: { version: number } | null;
      replicas: { id: string; state: string; createdAt: string; release: number | null }[];
    };
  }

  it('backs off with growing delays, is reported crash-looping, leaves the other app alone, and recovers with a fix', async () => {
    const [crashyDeployment, steadyDeployment] = await Promise.all([
      push(crashy, crashingApp('crashy-v1'), 'v1 crashes after 3 s'),
      push(steady, versionedApp('steady-v1'), 'steady v1'),
    ]);
    const [crashyDone, steadyDone] = await Promise.all([
      waitForDeployment(api, crashyDeployment, ['live', 'failed'], 150_000),
      waitForDeployment(api, steadyDeployment, ['live', 'failed'], 150_000),
    ]);
    // The crashing release passes its health gate: it only dies once it is live.
    expect(crashyDone.state, crashyDone.reason).toBe('live');
    expect(steadyDone.state, steadyDone.reason).toBe('live');

    const [steadyPort] = await servingPorts(api, steady, 'staging');
    expect(steadyPort).toBeTypeOf('number');
    const steadyPool = localPool(steadyPort as number);
    const load = startLoad(() => get(steadyPool, '/'), 'steady-v1', 2, 50);
    try {
      await crashLoopThenFix(load, steadyPort as number);
    } finally {
      await load.stop();
      await steadyPool.close();
    }
    // The other app answered every request while its neighbour crashed over and over, was fixed and recovered.
    console.log(`other app: ${load.sent} requests, ${load.failed} failed`);
    expect(load.failures, `${load.failed} of ${load.sent} failed`).toEqual([]);
    expect(load.sent).toBeGreaterThan(500);
  }, 300_000);

  async function crashLoopThenFix(load: Load, steadyPort: number): Promise<void> {
    // Watch the crashing environment: every replica it gets (with its creation time) and every backoff step.
    const replicaStarts = new Map<string, number>();
    const steps = new Map<number, { nextRestartAt: number; lastCrashAt: number; health: string }>();
    let last = await status(crashy);
    await until(
      'the crashing app has restarted with backoff at least 5 times',
      async () => {
        last = await status(crashy);
        for (const r of last.replicas) if (!replicaStarts.has(r.id)) replicaStarts.set(r.id, Date.parse(r.createdAt));
        if (last.restartStreak > 0 && !steps.has(last.restartStreak)) {
          const [row] = await api.database.sql<{ last_crash_ms: number; next_restart_ms: number }[]>`
              select (extract(epoch from e.last_crash_at) * 1000)::float8 as last_crash_ms,
                (extract(epoch from e.next_restart_at) * 1000)::float8 as next_restart_ms
              from environments e join apps a on a.id = e.app_id
              where a.name = ${crashy} and e.name = 'staging'`;
          if (row && Math.round(row.next_restart_ms) === Date.parse(last.nextRestartAt as string)) {
            steps.set(last.restartStreak, {
              nextRestartAt: row.next_restart_ms,
              lastCrashAt: row.last_crash_ms,
              health: last.health,
            });
          }
        }
        return last.restartStreak >= 5 && replicaStarts.size >= 5;
      },
      150_000,
      200,
    );

    // crash-looping from the third restart in a row on, and visible in the status.
    expect(last.health).toBe('crash-looping');
    expect(last.restartStreak).toBeGreaterThanOrEqual(3);
    expect(steps.get(1)?.health).toBe('ok');
    expect(steps.get(2)?.health).toBe('ok');
    expect(steps.get(3)?.health).toBe('crash-looping');

    // The backoff doubles from 1 s to the 8 s cap: nextRestartAt - lastCrashAt for streaks 1..5.
    const delays = [1, 2, 3, 4, 5].map((streak) => {
      const step = steps.get(streak);
      return step ? step.nextRestartAt - step.lastCrashAt : Number.NaN;
    });
    const expectedDelays = [1000, 2000, 4000, 8000, 8000];
    // nextRestartAt is computed when the pass starts, lastCrashAt written after the crashed container is removed.
    delays.forEach((delay, i) => {
      expect(delay, `backoff delays ${delays.join(', ')} ms`).toBeGreaterThan((expectedDelays[i] as number) - 1000);
      expect(delay, `backoff delays ${delays.join(', ')} ms`).toBeLessThanOrEqual((expectedDelays[i] as number) + 50);
    });
    for (let i = 1; i < 4; i += 1) expect(delays[i] as number).toBeGreaterThan(delays[i - 1] as number);

    // And the replacements really start further and further apart.
    const starts = [...replicaStarts.values()].sort((a, b) => a - b);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    expect(gaps.length, `replica starts ${starts.map((t) => new Date(t).toISOString()).join(', ')}`).toBeGreaterThanOrEqual(4);
    const gapText = `gaps between replica starts: ${gaps.map((g) => `${(g / 1000).toFixed(1)} s`).join(', ')}`;
    // A gap holds a replica's life (3 s), a reconcile pass or two, and the backoff: never less than the backoff.
    // (How much more depends on how busy the machine is, so only that bound is asserted.)
    for (let k = 0; k < 4; k += 1) expect(gaps[k] as number, gapText).toBeGreaterThanOrEqual(delays[k] as number);

    // So far the other app has answered every request, on the same replica, and is not affected in its status.
    expect(load.failures, `${load.failed} of ${load.sent} failed`).toEqual([]);
    expect(load.sent).toBeGreaterThan(200);
    expect(await servingPorts(api, steady, 'staging')).toEqual([steadyPort]);
    expect((await status(steady)).health).toBe('ok');
    expect((await status(steady)).restartStreak).toBe(0);
    console.log(
      `crash loop: streak ${last.restartStreak}, backoff ${delays.join('/')} ms, ${gapText}; ` +
        `other app: ${load.sent} requests, ${load.failed} failed`,
    );

    // A fixed release goes live, stays up, and once the streak is reset (20 s without a crash) the status is ok again.
    const fixed = await waitForDeployment(
      api,
      await push(crashy, versionedApp('crashy-v2'), 'fixed'),
      ['live', 'failed'],
      150_000,
    );
    expect(fixed.state, fixed.reason).toBe('live');
    const [fixedPort] = await servingPorts(api, crashy, 'staging');
    const fixedPool = localPool(fixedPort as number);
    try {
      expect(await get(fixedPool, '/')).toEqual({ status: 200, body: 'crashy-v2' });
      const recovered = await until(
        'the crashing app is reported ok again',
        async () => {
          const s = await status(crashy);
          return s.health === 'ok' && s.restartStreak === 0 ? s : undefined;
        },
        60_000,
        500,
      );
      expect(recovered.nextRestartAt).toBeNull();
      expect(recovered.liveRelease?.version).toBe(2);
      expect(recovered.replicas.map((r) => ({ state: r.state, release: r.release }))).toEqual([{ state: 'serving', release: 2 }]);
      expect(await servingPorts(api, crashy, 'staging')).toEqual([fixedPort]);
      expect(await get(fixedPool, '/')).toEqual({ status: 200, body: 'crashy-v2' });
    } finally {
      await fixedPool.close();
    }
    expect(await servingPorts(api, steady, 'staging')).toEqual([steadyPort]);
  }
});

// ---------------------------------------------------------------------------------------------------------------

describe('the control plane down', () => {
  const app = `edge-${run}`;
  const host = `${app}-staging.pier.test`;
  const secretKey = randomBytes(32).toString('base64');
  const proxyKey = randomBytes(32).toString('base64');
  const adminToken = randomBytes(32).toString('hex');
  const processes: RunningProcess[] = [];
  const dirs: string[] = [];
  let database: TestDatabase;
  let repo: TestGitRepository;
  let apiProcess: RunningProcess;
  let workerProcess: RunningProcess;
  let proxyProcess: RunningProcess;
  let apiUrl: string;
  let snapshot: string;

  function common(databaseUrl: string): Record<string, string> {
    return {
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      PIER_SECRET_KEY: secretKey,
      PIER_PROXY_KEY: proxyKey,
      PIER_BASE_DOMAIN: 'pier.test',
      PIER_LOG_FORMAT: 'json',
      PIER_LOG_LEVEL: 'info',
    };
  }

  async function startProxy(databaseUrl: string): Promise<{ proc: RunningProcess; httpPort: number; adminPort: number }> {
    const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const proc = startScript('apps/proxy/src/main.ts', {
      ...common(databaseUrl),
      PIER_HTTP_PORT: String(httpPort),
      PIER_HTTPS_PORT: String(httpsPort),
      PIER_PROXY_ADMIN_PORT: String(adminPort),
      PIER_PROXY_SNAPSHOT: snapshot,
    });
    processes.push(proc);
    await waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}\nproxy output:\n${proc.output()}`);
    });
    return { proc, httpPort, adminPort };
  }

  let proxy: { proc: RunningProcess; httpPort: number; adminPort: number };

  beforeAll(async () => {
    database = await createTestDatabase();
    repo = new TestGitRepository();
    const workDirectory = mkdtempSync(join(tmpdir(), 'pier-edge-work-'));
    const snapshotDirectory = mkdtempSync(join(tmpdir(), 'pier-edge-snapshot-'));
    dirs.push(workDirectory, snapshotDirectory);
    snapshot = join(snapshotDirectory, 'routes.json');
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    apiProcess = startScript('apps/api/src/main.ts', {
      ...common(database.url),
      PIER_API_PORT: String(apiPort),
      PIER_ADMIN_TOKEN: adminToken,
    });
    processes.push(apiProcess);
    workerProcess = startScript('apps/worker/src/main.ts', {
      ...common(database.url),
      PIER_ALLOW_FILE_REPOS: 'true',
      PIER_IMAGE_NODE: LOCAL_IMAGES.node,
      PIER_IMAGE_PYTHON: LOCAL_IMAGES.python,
      PIER_IMAGE_PROCFILE: LOCAL_IMAGES.procfile,
      PIER_IMAGE_POSTGRES: 'pier-local/postgres',
      PIER_IMAGE_REDIS: 'pier-local/redis',
      PIER_WORK_DIR: workDirectory,
      PIER_QUEUE_PREFIX: `pier-edge-${run}`,
      PIER_INSTANCE: `edge-${run}`,
      PIER_MIN_FREE_DISK_MB: '100',
      PIER_BUILD_LOCK_MS: '4000',
      PIER_BUILD_STALLED_CHECK_MS: '2000',
    });
    processes.push(workerProcess);
    const [started] = await Promise.all([
      startProxy(database.url),
      waitForHttp(`${apiUrl}/health`, 200, 30_000).catch((err) => {
        throw new Error(`${(err as Error).message}\napi output:\n${apiProcess.output()}`);
      }),
      until(
        'the worker has started',
        async () => {
          if (workerProcess.child.exitCode !== null) throw new Error(`the worker exited:\n${workerProcess.output()}`);
          return workerProcess.output().includes('"msg":"worker started"');
        },
        30_000,
      ),
    ]);
    proxy = started;
    proxyProcess = started.proc;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(
      processes.map(async (proc) => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
        try {
          signalGroup(proc, 'SIGTERM');
        } catch {
          return; // already gone
        }
        await exitWithin(proc, 20_000).catch(() => {
          try {
            signalGroup(proc, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
          return proc.exited;
        });
      }),
    );
    await removeAppObjects([app]);
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

  it('SIGKILL of the api and worker processes: the proxy keeps serving every request', async () => {
    const created = await apiCall('POST', '/apps', { name: app, repository: { fullName: `acme/${app}`, cloneUrl: repo.url } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const patched = await apiCall('PATCH', `/apps/${app}/environments/staging`, {
      replicas: 2,
      drainTimeoutMs: 1000,
      healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 20_000 },
    });
    expect(patched.status, JSON.stringify(patched.json)).toBe(200);

    // A signed GitHub push to the API process's own port.
    const sha = repo.commit(versionedApp('edge-v1'), 'v1');
    repo.push();
    const body = Buffer.from(JSON.stringify(pushPayload(`acme/${app}`, 'refs/heads/main', sha)));
    const delivery = await fetch(`${apiUrl}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signPayload(body, created.json.webhookSecret),
        'user-agent': 'GitHub-Hookshot/test',
      },
      body,
    });
    expect(delivery.status).toBe(202);
    const deploymentId = ((await delivery.json()) as { deployments: { id: string }[] }).deployments[0]?.id as string;
    const live = await until(
      'the deployment is live',
      async () => {
        const { json } = await apiCall('GET', `/deployments/${deploymentId}`);
        if (json.state === 'failed' || json.state === 'cancelled') throw new Error(`deployment ${json.state}: ${json.reason}`);
        return json.state === 'live' ? json : undefined;
      },
      150_000,
      500,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\nworker output:\n${workerProcess.output().slice(-4000)}`);
    });
    expect(live.state).toBe('live');

    const pool = localPool(proxy.httpPort);
    try {
      // The proxy follows Postgres: the route appears without a restart.
      await until(
        'the proxy routes the app',
        async () => {
          const answer = await get(pool, '/', host).catch(() => null);
          return answer?.status === 200 && answer.body === 'edge-v1';
        },
        30_000,
      );

      const load = startLoad(() => get(pool, '/', host), 'edge-v1', 4, 10);
      await sleep(2000);
      const beforeKill = load.sent;
      signalGroup(apiProcess, 'SIGKILL');
      signalGroup(workerProcess, 'SIGKILL');
      expect(await exitWithin(apiProcess, 10_000)).toBe('SIGKILL');
      expect(await exitWithin(workerProcess, 10_000)).toBe('SIGKILL');
      const killedAt = load.sent;
      await expect(fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      await sleep(5000);
      await load.stop();

      console.log(
        `control plane down: ${load.sent} requests through the proxy (${beforeKill} before the kill, ` +
          `${load.sent - killedAt} after both exited), ${load.failed} failed`,
      );
      expect(load.failures, `${load.failed} of ${load.sent} failed`).toEqual([]);
      expect(load.sent - killedAt).toBeGreaterThan(100);
    } finally {
      await pool.close();
    }
  }, 240_000);

  it('a proxy restarted while Postgres is unreachable serves from its snapshot', async () => {
    expect(existsSync(snapshot)).toBe(true);
    const saved = JSON.parse(readFileSync(snapshot, 'utf8')) as { routes: { hostnames: string[]; upstreams: unknown[] }[] };
    const route = saved.routes.find((r) => r.hostnames.includes(host));
    expect(route?.upstreams).toHaveLength(2);

    signalGroup(proxyProcess, 'SIGTERM');
    expect(await exitWithin(proxyProcess, 30_000)).toBe(0);

    // Postgres itself stays up for the other tests; from this proxy's point of view it is unreachable.
    const closedPort = await freePort();
    proxy = await startProxy(`postgres://pier:unreachable@127.0.0.1:${closedPort}/pier`);
    proxyProcess = proxy.proc;
    const health = (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/health`)).json()) as {
      routes: { origin: string; count: number };
    };
    expect(health.routes.origin).toBe('snapshot');
    expect(health.routes.count).toBeGreaterThanOrEqual(1);

    const pool = localPool(proxy.httpPort);
    try {
      const load = startLoad(() => get(pool, '/', host), 'edge-v1', 4, 10);
      await sleep(3000);
      await load.stop();
      console.log(`proxy from snapshot: ${load.sent} requests, ${load.failed} failed`);
      expect(load.failures, `${load.failed} of ${load.sent} failed\nproxy output:\n${proxyProcess.output()}`).toEqual([]);
      expect(load.sent).toBeGreaterThan(50);
      expect((await get(pool, '/', 'nobody.pier.test')).status).toBe(404);
    } finally {
      await pool.close();
    }
    // Still from the snapshot: it never reached Postgres.
    const after = (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/health`)).json()) as { routes: { origin: string } };
    expect(after.routes.origin).toBe('snapshot');
  }, 60_000);
});
