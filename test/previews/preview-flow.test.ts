import { randomBytes, randomUUID } from 'node:crypto';
import { LABEL_APP, LABEL_ENV, LABEL_RELEASE, LABEL_ROLE } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE } from '../../apps/worker/src/deploy/replica-spec.ts';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';
import { type PullRequestOptions, pullRequestPayload } from './pull-request-payloads.ts';

/**
 * Issue 5's "done means" for previews, with real git, builds, containers and
 * the edge proxy process: a pull request opened → its preview URL serves;
 * pushed to → the new commit serves; closed → the URL answers 404 and no
 * container or network of it is left; a fork's pull request is not built
 * unless the app opts in, and then without the app's variables.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let proxy: TestProxy;
let secret: string;
const app = `pv-${Date.now().toString(36)}`;
const REPO = 'acme/previews';
const GREETING = `hello-${randomBytes(6).toString('hex')}`;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: REPO, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 0 });
  const vars = await api.request({
    method: 'PATCH',
    url: `/apps/${app}/environments/staging/variables`,
    payload: { set: { GREETING } },
  });
  expect(vars.statusCode, vars.body).toBe(200);
  repo.commit({ 'README.md': 'previews\n' }, 'initial');
  repo.push();

  proxy = await startTestProxy(api.database.url);
}, 90_000);

afterAll(async () => {
  await proxy?.stop();
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    for (const env of ['pr-7', 'pr-8', 'pr-99']) await worker.docker.removeNetwork(`pier-${app}-${env}`).catch(() => {});
  }
  await api?.close();
  repo?.remove();
}, 90_000);

/** A tiny app answering `<version> <GREETING or ->` on `/`, 200 on `/health`. */
function greetingApp(version: string): Record<string, string> {
  return {
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
    'server.js': `
const http = require('http');
const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  res.end('${version} ' + (process.env.GREETING || '-'));
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  };
}

/** Commits `files` on `branch` (created from main when new) and pushes it to `remoteRef`. */
function commitOn(branch: string, files: Record<string, string>, remoteRef: string): string {
  const exists = repo.run('branch', '--list', branch) !== '';
  repo.run('checkout', '--quiet', ...(exists ? [branch] : ['-b', branch, 'main']));
  const sha = repo.commit(files, `${branch}: ${Object.keys(files).join(', ')}`);
  repo.run('push', '--quiet', '--force', 'origin', `HEAD:${remoteRef}`);
  repo.run('checkout', '--quiet', 'main');
  return sha;
}

function pull(options: Omit<PullRequestOptions, 'repository'>) {
  return sendWebhook(api.app, { event: 'pull_request', payload: pullRequestPayload({ repository: REPO, ...options }), secret });
}

/** One request through the proxy with a Host header. */
const viaProxy = (host: string) => getViaProxy(proxy.httpPort, host, '/', 5000);

const previewHost = (env: string) => `${app}-${env}.pier.test`;

async function proxyAnswers(env: string, expected: { status: number; body?: string }): Promise<void> {
  await expect
    .poll(
      async () => {
        const answer = await viaProxy(previewHost(env)).catch((err: Error) => ({ status: 0, body: err.message }));
        return expected.body === undefined ? { status: answer.status } : { status: answer.status, body: answer.body };
      },
      { timeout: 15_000, interval: 200 },
    )
    .toEqual(expected);
}

async function deployedLive(res: Awaited<ReturnType<typeof pull>>, env: string): Promise<void> {
  expect(res.statusCode, res.body).toBe(202);
  const [deployment] = res.json().deployments;
  expect(deployment).toMatchObject({ app, environment: env });
  const done = await waitForDeployment(api, deployment.id, ['live', 'failed', 'cancelled'], 150_000);
  expect(done.reason).toBeNull();
  expect(done.state).toBe('live');
}

async function dockerObjectsOf(env: string) {
  const containers = await worker.docker.listContainers({ 'pier.app': app, 'pier.env': env });
  const networks = await worker.docker.docker.listNetworks({ filters: { name: [`pier-${app}-${env}`] } });
  return { containers: containers.length, networks: networks.filter((n) => n.Name === `pier-${app}-${env}`).length };
}

describe('a pull request from the repository', () => {
  it('opened: the preview URL serves the head commit, with staging’s variables', async () => {
    const sha = commitOn('feature/greeting', greetingApp('pr7-v1'), 'refs/heads/feature/greeting');
    await deployedLive(await pull({ number: 7, action: 'opened', sha, headRef: 'feature/greeting' }), 'pr-7');
    await proxyAnswers('pr-7', { status: 200, body: `pr7-v1 ${GREETING}` });
    // Staging itself was never deployed: only the preview's host has a route.
    expect((await viaProxy(previewHost('staging'))).status).toBe(404);
  }, 180_000);

  it('synchronize: the new commit serves', async () => {
    const sha = commitOn('feature/greeting', greetingApp('pr7-v2'), 'refs/heads/feature/greeting');
    await deployedLive(await pull({ number: 7, action: 'synchronize', sha, headRef: 'feature/greeting' }), 'pr-7');
    await proxyAnswers('pr-7', { status: 200, body: `pr7-v2 ${GREETING}` });
  }, 180_000);

  it('closed: the URL answers 404 and no container or network of the preview is left', async () => {
    // v2's replica, and maybe v1's still stopping after its drain.
    const before = await dockerObjectsOf('pr-7');
    expect(before.containers).toBeGreaterThanOrEqual(1);
    expect(before.networks).toBe(1);
    const res = await pull({ number: 7, action: 'closed', sha: repo.run('rev-parse', 'feature/greeting') });
    expect(res.json()).toEqual({ deployments: [], closedPreviews: [{ app, environment: 'pr-7' }] });
    await proxyAnswers('pr-7', { status: 404 });
    await expect.poll(() => dockerObjectsOf('pr-7'), { timeout: 30_000, interval: 500 }).toEqual({ containers: 0, networks: 0 });
  }, 60_000);
});

describe('a pull request from a fork', () => {
  let sha: string;

  it('is not built while the app does not preview forks', async () => {
    // GitHub keeps a fork's head in the base repository as refs/pull/<n>/head.
    sha = commitOn('fork-8', greetingApp('fork-v1'), 'refs/pull/8/head');
    const res = await pull({ number: 8, action: 'opened', sha, fork: true });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ deployments: [], ignored: expect.stringContaining('comes from a fork') });
    const [counts] = await api.database.sql`
      select (select count(*)::int from deployments where commit_sha = ${sha}) as deployments,
             (select count(*)::int from environments where pull_request = 8) as environments`;
    expect(counts).toEqual({ deployments: 0, environments: 0 });
    expect((await viaProxy(previewHost('pr-8'))).status).toBe(404);
  });

  it('is built once the app opts in, and runs without the app’s variables', async () => {
    const patch = await api.request({ method: 'PATCH', url: `/apps/${app}`, payload: { forkPreviews: true } });
    expect(patch.statusCode, patch.body).toBe(200);
    await deployedLive(await pull({ number: 8, action: 'synchronize', sha, fork: true }), 'pr-8');
    await proxyAnswers('pr-8', { status: 200, body: 'fork-v1 -' });
    const closed = await pull({ number: 8, action: 'closed', sha, fork: true });
    expect(closed.json().closedPreviews).toEqual([{ app, environment: 'pr-8' }]);
    await expect.poll(() => dockerObjectsOf('pr-8'), { timeout: 30_000, interval: 500 }).toEqual({ containers: 0, networks: 0 });
  }, 180_000);
});

describe('crash safety', () => {
  it('a stopped container of a deleted environment, its network still there, is removed with the network', async () => {
    // What a worker that crashed between stopping a closed preview's container and removing its network leaves.
    const env = 'pr-99';
    const network = `pier-${app}-${env}`;
    await worker.docker.ensureNetwork(network, { [LABEL_APP]: app, [LABEL_ENV]: env });
    await worker.docker.runContainer({
      name: `pier-${app}-${env}-v1-crashed`,
      // Without a command node reads a script from stdin, finds none and exits: a stopped container.
      image: 'pier-local/node',
      env: {},
      labels: {
        [LABEL_APP]: app,
        [LABEL_ENV]: env,
        [LABEL_ENVIRONMENT_ID]: randomUUID(),
        [LABEL_RELEASE]: randomUUID(),
        [LABEL_ROLE]: 'web',
        [LABEL_INSTANCE]: worker.prefix,
      },
      containerPort: null,
      networks: [network],
      limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 },
    });
    await expect.poll(() => dockerObjectsOf(env), { timeout: 30_000, interval: 500 }).toEqual({ containers: 0, networks: 0 });
  }, 60_000);
});
