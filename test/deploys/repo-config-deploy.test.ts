import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * A repository whose pier.json sets a sub-folder Dockerfile and context, the
 * port and a health path goes live as it says, on real Docker behind the real
 * proxy; promoted to production, the same image runs with production's own
 * override of the port, read from the pier.json of the build that made it.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let proxy: TestProxy;
let secret: string;
const app = `rcdeploy-${Date.now().toString(36)}`;

/** Listens on PORT only; healthy only at /ready-now (`/` and `/health` answer 500, so no default check passes). */
const SERVER = `
const http = require('http');
http.createServer((req, res) => {
  if (req.url === '/ready-now') return res.end('ready');
  if (req.url === '/where') return res.end('port ' + process.env.PORT);
  res.statusCode = 500;
  res.end('not here');
}).listen(Number(process.env.PORT));
`;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: `acme/${app}`, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
  proxy = await startTestProxy(api.database.url);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    await worker.docker.removeNetwork(`pier-${app}-production`).catch(() => {});
  }
  await api?.close();
  repo?.remove();
}, 120_000);

const get = (env: string, path: string) =>
  getViaProxy(proxy.httpPort, env === 'production' ? `${app}.pier.test` : `${app}-${env}.pier.test`, path, 15_000);

describe('pier.json on a real deploy', () => {
  it('builds web/Dockerfile in web/, runs it on port 3000 and gates it on /ready-now', async () => {
    const sha = repo.commit({
      'pier.json': JSON.stringify({
        build: { dockerfile: 'web/Dockerfile', context: 'web' },
        port: 3000,
        healthCheck: '/ready-now',
        // Runs in each environment with that environment's own variables and settings.
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, run by the app's own container
        release: 'echo "release sees PORT=$PORT PROD_SECRET=${PROD_SECRET:+set}"',
        environments: { production: { port: 3001, requiredVariables: ['PROD_SECRET'] } },
      }),
      // The root Dockerfile is not the one: building it fails.
      Dockerfile: 'FROM pier-local/debian:bookworm\nRUN exit 9\n',
      'web/Dockerfile': 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
      'web/server.js': SERVER,
    });
    repo.push();
    const res = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha),
      secret,
    });
    expect(res.statusCode, res.body).toBe(202);
    const done = await waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed'], 180_000);
    expect(done.state, done.reason).toBe('live');
    const lines = (await api.request({ method: 'GET', url: `/deployments/${done.id}/logs` })).json().lines as { line: string }[];
    expect(lines.map((l) => l.line)).toContain('release sees PORT=3000 PROD_SECRET=');
    await expect.poll(async () => (await get('staging', '/where')).body, { timeout: 20_000, interval: 500 }).toBe('port 3000');

    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/status` })).json();
    expect(status.liveRelease.port).toBe(3000);
    expect(status.liveRelease.settings.port).toEqual({ value: 3000, source: 'pier.json' });
    expect(status.liveRelease.settings.health.source).toBe('pier.json');
  }, 240_000);

  it('a promotion is refused while production lacks a variable its pier.json requires, then runs its release command and replicas with production’s own variables and port', async () => {
    const refused = await api.request({
      method: 'POST',
      url: `/apps/${app}/environments/production/promote`,
      payload: { from: 'staging' },
    });
    expect(refused.statusCode, refused.body).toBe(202);
    const failed = await waitForDeployment(api, refused.json().id, ['live', 'failed'], 120_000);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toContain('required variable is not set in production: PROD_SECRET');
    const set = await api.request({
      method: 'PATCH',
      url: `/apps/${app}/environments/production/variables`,
      payload: { set: { PROD_SECRET: 'p-secret-value' } },
    });
    expect(set.statusCode, set.body).toBe(200);
    const res = await api.request({
      method: 'POST',
      url: `/apps/${app}/environments/production/promote`,
      payload: { from: 'staging' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const done = await waitForDeployment(api, res.json().id, ['live', 'failed'], 180_000);
    const log = (await api.request({ method: 'GET', url: `/deployments/${res.json().id}/logs` })).json().lines as {
      line: string;
    }[];
    expect(log.map((l) => l.line)).toContain('release sees PORT=3001 PROD_SECRET=set');
    expect(done.state, done.reason).toBe('live');
    await expect.poll(async () => (await get('production', '/where')).body, { timeout: 20_000, interval: 500 }).toBe('port 3001');
    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/production/status` })).json();
    expect(status.liveRelease.settings.port).toEqual({ value: 3001, source: 'pier.json' });
  }, 240_000);
});
