import { randomBytes } from 'node:crypto';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Issue 12, "Done means": an app that has no `/health` and one that only
 * listens on its `EXPOSE`d port go live with no settings; an app that checks
 * its Host header is probed, by the gate and by the proxy, with the
 * environment's own hostname; an app listening where Pier does not expect it
 * fails early, saying which port and which setting. Real git, Docker, worker
 * loops and proxy process.
 */

const run = randomBytes(3).toString('hex');
const docker = new DockerRuntime();
/** The deadline of every gate here: each failure below must come well before it. */
const DEADLINE_MS = 90_000;
/** How long nothing may listen on a new replica's port (the worker's default is 30 s). */
const START_PERIOD_MS = 5_000;
/** A build, a rollout and the checks after it, on a loaded machine. */
const SLOW = 150_000;

let api: TestApi;
let worker: TestWorker;
let proxy: TestProxy;
const repos: TestGitRepository[] = [];
const apps: string[] = [];

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000, healthStartPeriodMs: START_PERIOD_MS });
  proxy = await startTestProxy(api.database.url);
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.stop();
  for (const app of apps) await removeAppFromDocker(docker, app);
  await api?.close();
  for (const repo of repos) repo.remove();
});

const node = (files: { expose?: number; server: string }) => ({
  Dockerfile: `FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\n${files.expose ? `EXPOSE ${files.expose}\n` : ''}CMD ["node", "server.js"]\n`,
  'server.js': files.server,
});

/**
 * An app made as a new user would (no health path, no port), `configure`d
 * (given its name) before its repository is pushed: its first deployment's id.
 */
async function pushNewApp(
  name: string,
  files: Record<string, string>,
  configure: (app: string) => Promise<void> = async () => {},
): Promise<string> {
  const app = `${name}-${run}`;
  apps.push(app);
  const repo = new TestGitRepository();
  repos.push(repo);
  const fullName = `acme/${app}`;
  const secret = await createFastApp(api, {
    name: app,
    fullName,
    cloneUrl: repo.url,
    replicas: 1,
    drainTimeoutMs: 1000,
    deadlineMs: DEADLINE_MS,
  });
  await configure(app);
  const sha = repo.commit(files, 'first');
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(fullName, 'refs/heads/main', sha), secret });
  expect(res.statusCode).toBe(202);
  return res.json().deployments[0].id as string;
}

/** GET through the proxy once it routes `host` (its route feed follows a switch within moments): 10 s at most. */
async function viaProxy(host: string, path = '/') {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await getViaProxy(proxy.httpPort, host, path);
    if (answer.status !== 404 || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function releaseOf(deploymentId: string) {
  const [row] = await api.database.sql<{ port: number | null; health: { path: string | null }; settings: object }[]>`
    select r.port, r.health, r.settings from releases r join deployments d on d.release_id = r.id where d.id = ${deploymentId}`;
  return row;
}

async function logOf(deploymentId: string): Promise<string> {
  const rows = await api.database.sql<{ line: string }[]>`
    select line from deployment_log_lines where deployment_id = ${deploymentId} order by id`;
  return rows.map((r) => r.line).join('\n');
}

describe('health checks and ports that fit real apps', () => {
  it(
    'an app without /health goes live with no settings: / answers, so it is alive',
    async () => {
      const id = await pushNewApp(
        'nohealth',
        node({
          server: `require('http').createServer((req, res) => {
  if (req.url === '/') return res.end('home');
  res.statusCode = 404; res.end('not found');
}).listen(process.env.PORT);`,
        }),
      );
      const done = await waitForDeployment(api, id, ['live', 'failed']);
      expect({ state: done.state, reason: done.reason }).toEqual({ state: 'live', reason: null });
      expect(await releaseOf(id)).toMatchObject({
        port: 8080,
        health: { path: null },
        settings: { port: { value: 8080, source: 'default' }, health: { source: 'default' } },
      });
      const answer = await viaProxy(`nohealth-${run}-staging.pier.test`);
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: 'home' });
    },
    SLOW,
  );

  it(
    'an app that listens only on its EXPOSEd port goes live with no settings, on that port',
    async () => {
      const id = await pushNewApp(
        'exposed',
        node({ expose: 3000, server: `require('http').createServer((req, res) => res.end('on 3000')).listen(3000);` }),
      );
      const done = await waitForDeployment(api, id, ['live', 'failed']);
      expect({ state: done.state, reason: done.reason }).toEqual({ state: 'live', reason: null });
      expect(await releaseOf(id)).toMatchObject({ port: 3000, settings: { port: { value: 3000, source: 'image' } } });
      expect(await logOf(id)).toContain('port 3000 (the image’s EXPOSE)');
      const answer = await viaProxy(`exposed-${run}-staging.pier.test`);
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: 'on 3000' });
    },
    SLOW,
  );

  it(
    'an app that checks its Host header is probed with the environment’s hostname, by the gate and by the proxy',
    async () => {
      const host = `hostcheck-${run}-staging.pier.test`;
      // As Django's ALLOWED_HOSTS does: 400 to any other Host, on every path. It counts what it was asked, by Host.
      const id = await pushNewApp(
        'hostcheck',
        node({
          server: `const seen = {};
require('http').createServer((req, res) => {
  const key = req.url + ' ' + req.headers.host;
  seen[key] = (seen[key] || 0) + 1;
  if (req.headers.host !== process.env.ALLOWED_HOST) { res.statusCode = 400; return res.end('Bad Request (400)'); }
  if (req.url === '/seen') return res.end(JSON.stringify(seen));
  res.end(req.url === '/health' ? 'ok' : 'hello');
}).listen(process.env.PORT);`,
        }),
        // Its /health is the check, and a variable names the host it allows.
        async (app) => {
          const url = `/apps/${app}/environments/staging`;
          const variables = { set: { ALLOWED_HOST: host } };
          expect((await api.request({ method: 'PATCH', url: `${url}/variables`, payload: variables })).statusCode).toBe(200);
          const path = { healthCheck: { path: '/health' } };
          expect((await api.request({ method: 'PATCH', url, payload: path })).json().deployment).toBeNull();
        },
      );
      const done = await waitForDeployment(api, id, ['live', 'failed']);
      expect({ state: done.state, reason: done.reason }).toEqual({ state: 'live', reason: null });
      expect((await releaseOf(id))?.health.path).toBe('/health');

      // The proxy polls /health too (every 5 s): wait until it has, twice, then the app must still be in rotation.
      const healthProbes = async () => {
        const answer = await viaProxy(host, '/seen');
        expect(answer.status).toBe(200);
        const seen = JSON.parse(answer.body) as Record<string, number>;
        return { seen, probes: seen[`/health ${host}`] ?? 0 };
      };
      const atLive = (await healthProbes()).probes;
      const deadline = Date.now() + 30_000;
      let last = await healthProbes();
      while (last.probes < atLive + 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        last = await healthProbes();
      }
      expect(last.probes).toBeGreaterThanOrEqual(atLive + 2);
      // Every request it ever got named its own hostname: the gate's, the proxy's and ours.
      expect(Object.keys(last.seen).every((key) => key.endsWith(` ${host}`))).toBe(true);
      const [replica] = await api.database.sql<{ healthy: boolean }[]>`
      select r.healthy from replicas r join deployments d on d.release_id = r.release_id where d.id = ${id}`;
      expect(replica?.healthy).toBe(true);
      expect((await viaProxy(host)).body).toBe('hello');
    },
    SLOW,
  );

  it(
    'an app listening where Pier does not expect it fails early, naming the port expected and the setting',
    async () => {
      const started = Date.now();
      const id = await pushNewApp(
        'elsewhere',
        node({ server: `require('http').createServer((req, res) => res.end('on 5000')).listen(5000);` }),
      );
      const done = await waitForDeployment(api, id, ['live', 'failed']);
      expect(done.state).toBe('failed');
      expect(done.reason).toContain('nothing listens on port 8080 (the default, given to the app as PORT) after ');
      expect(done.reason).toContain(
        `set "port" in pier.json or on the environment (PATCH /apps/elsewhere-${run}/environments/staging`,
      );
      expect(Date.now() - started).toBeLessThan(DEADLINE_MS / 2); // build, start period: not the gate's deadline
    },
    SLOW,
  );
});
