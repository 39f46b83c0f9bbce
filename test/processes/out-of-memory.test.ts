import { LABEL_APP } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_PROCESS } from '../../apps/worker/src/deploy/replica-spec.ts';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * A replica the kernel kills for going past its memory limit, on real Docker
 * through the worker's real loops: a worker type is reported in status as out
 * of memory at its limit (not as a crash with some exit code), and a web
 * replica that does so before its health gate fails its deployment with a
 * reason that says so.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const app = `poom-${Date.now().toString(36)}`;
const ENV = `/apps/${app}/environments/staging`;

/** Allocates (and touches) 150 MiB, then holds it: fine at the default 512 MiB, killed at 64 MiB. */
const HOG = `
const chunks = [];
for (let i = 0; i < 15; i++) chunks.push(Buffer.alloc(10 * 1024 * 1024, 1));
console.log('holding ' + chunks.length * 10 + ' MiB');
`;

/** A web process that answers its health check (and allocates 150 MiB on /hog); `hogFirst`: it does so before it listens. */
function server(hogFirst: boolean): string {
  return `${hogFirst ? HOG : ''}
const http = require('http');
const held = [];
const server = http.createServer((req, res) => {
  if (req.url === '/hog') for (let i = 0; i < 15; i++) held.push(Buffer.alloc(10 * 1024 * 1024, 1));
  res.end('ok');
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
}

function files(options: { hogFirst: boolean; pierJson?: object }): Record<string, string> {
  return {
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n',
    Procfile: 'web: node server.js\nworker: node hog.js\n',
    'server.js': server(options.hogFirst),
    'hog.js': `${HOG}\nsetInterval(() => {}, 60_000);\nprocess.on('SIGTERM', () => process.exit(0));\n`,
    ...(options.pierJson ? { 'pier.json': JSON.stringify(options.pierJson) } : {}),
  };
}

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: `acme/${app}`, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) await removeAppFromDocker(worker.docker, app);
  await api?.close();
  repo?.remove();
}, 120_000);

async function push(content: Record<string, string>): Promise<string> {
  const sha = repo.commit(content);
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha), secret });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().deployments[0].id;
}

interface ProcessView {
  type: string;
  running: number;
  memoryMb: number;
  limitsSource: string;
  restartStreak: number;
  lastExit: { exitCode: number | null; oomKilled: boolean; memoryMb: number | null; reason: string } | null;
}

async function processes(): Promise<Record<string, ProcessView>> {
  const res = await api.request({ method: 'GET', url: `${ENV}/status` });
  expect(res.statusCode, res.body).toBe(200);
  return Object.fromEntries((res.json().processes as ProcessView[]).map((p) => [p.type, p]));
}

describe('a replica killed for going past its memory limit', () => {
  it('a worker holding 150 MiB runs at the default 512 MiB; at 64 MiB it is reported as out of memory at 64 MiB', async () => {
    const first = await waitForDeployment(api, await push(files({ hogFirst: false })), ['live', 'failed'], 180_000);
    expect(first.state, first.reason).toBe('live');
    await expect.poll(async () => (await processes()).worker?.running, { timeout: 30_000, interval: 500 }).toBe(1);
    const [hog] = await worker.docker.listContainers({ [LABEL_APP]: app, [LABEL_PROCESS]: 'worker' });
    const holding = async () => {
      const lines: string[] = [];
      for await (const entry of worker.docker.containerLogs(hog?.id ?? '', { tail: 10 })) lines.push(entry.line);
      return lines;
    };
    await expect.poll(holding, { timeout: 15_000, interval: 500 }).toContain('holding 150 MiB');
    expect((await processes()).worker).toMatchObject({ memoryMb: 512, limitsSource: 'default', lastExit: null });

    const res = await api.request({ method: 'PATCH', url: `${ENV}/processes/worker`, payload: { memoryMb: 64 } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().process).toMatchObject({ type: 'worker', memoryMb: 64, limitsSource: 'api' });
    // New limits reach running replicas by replacing them: the running image redeployed.
    const redeploy = res.json().deployment;
    expect(redeploy).toMatchObject({ trigger: 'config' });
    const done = await waitForDeployment(api, redeploy.id, ['live', 'failed'], 120_000);
    expect(done.state, done.reason).toBe('live');

    await expect
      .poll(async () => (await processes()).worker?.lastExit?.reason, { timeout: 60_000, interval: 500 })
      .toBe('out of memory at 64 MiB: raise memoryMb');
    const shown = await processes();
    expect(shown.worker?.lastExit).toMatchObject({ oomKilled: true, memoryMb: 64, exitCode: 137 });
    expect(shown.worker?.restartStreak).toBeGreaterThanOrEqual(1);
    // The web process keeps its own limit and keeps serving.
    expect(shown.web).toMatchObject({ memoryMb: 512, running: 1, lastExit: null });
  }, 300_000);

  it('a web replica that runs out of memory before its health gate fails the deployment with a reason that says so', async () => {
    const id = await push(files({ hogFirst: true, pierJson: { resources: { memoryMb: 64 } } }));
    const failed = await waitForDeployment(api, id, ['live', 'failed'], 180_000);
    expect(failed.state).toBe('failed');
    // Whichever sees the exit first, the health gate or the planner, says why: not `exited with code 137`.
    expect(failed.reason).toMatch(/^release v\d+ .*the container ran out of memory at 64 MiB.*: raise memoryMb$/m);
    expect(failed.reason).not.toContain('exited with code');
    // The release before it still serves.
    expect((await processes()).web).toMatchObject({ memoryMb: 512, running: 1 });
  }, 240_000);

  it('a serving web replica that goes past its limit is reported as out of memory, and replaced', async () => {
    const res = await api.request({ method: 'PATCH', url: `${ENV}/processes/web`, payload: { memoryMb: 64 } });
    expect(res.statusCode, res.body).toBe(200);
    const done = await waitForDeployment(api, res.json().deployment.id, ['live', 'failed'], 120_000);
    expect(done.state, done.reason).toBe('live');
    const [web] = (await worker.docker.listContainers({ [LABEL_APP]: app, [LABEL_PROCESS]: 'web' })).filter(
      (c) => c.status === 'running' && c.hostPort,
    );
    // The request dies with the process.
    await fetch(`http://127.0.0.1:${web?.hostPort}/hog`, { signal: AbortSignal.timeout(10_000) }).catch(() => {});
    await expect
      .poll(async () => (await processes()).web?.lastExit?.reason, { timeout: 60_000, interval: 500 })
      .toBe('out of memory at 64 MiB: raise memoryMb');
    expect((await processes()).web?.lastExit).toMatchObject({ oomKilled: true, memoryMb: 64 });
    await expect.poll(async () => (await processes()).web?.running, { timeout: 60_000, interval: 500 }).toBe(1);
  }, 240_000);
});
