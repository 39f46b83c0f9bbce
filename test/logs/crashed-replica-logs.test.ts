import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { exitWithin, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { workerProcessEnv } from '../support/worker-process.ts';

/**
 * Issue 14, "Done means": logs of a crashed and replaced replica are still
 * readable with their replica and release. The real worker process builds
 * and runs an app whose `worker` type prints two lines and exits 1; the
 * reconciler replaces it; GET …/logs (the api reads only Postgres) still
 * returns the first container's lines, tagged with its name and release 1,
 * while that container no longer runs.
 */

const run = randomBytes(3).toString('hex');
const app = `crashlogs-${run}`;
const instance = `crashlogs-${run}`;
const ENV = `/apps/${app}/environments/staging`;
const secretKey = randomBytes(32);
const docker = new DockerRuntime();
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-crashlogs-'));
let api: TestApi;
let repo: TestGitRepository;
let secret: string;
let worker: RunningProcess;

const SERVER = `
const http = require('http');
const server = http.createServer((req, res) => res.end('ok'));
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
/** Says which container it is (its hostname: the id's first 12 characters), complains, and fails. */
const CRASH = `
console.log('hello from ' + require('os').hostname());
console.error('about to fail');
setTimeout(() => process.exit(1), 200);
`;

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: `acme/${app}`, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
  worker = startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: api.database.url, secretKey, workDirectory },
      { PIER_QUEUE_PREFIX: `pier-crashlogs-${run}`, PIER_INSTANCE: instance },
    ),
  );
  const deadline = Date.now() + 120_000;
  while (!worker.output().includes('"msg":"worker started"')) {
    if (worker.child.exitCode !== null || Date.now() > deadline) throw new Error(`the worker did not start:\n${worker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 150_000);

afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    signalGroup(worker, 'SIGTERM');
    await exitWithin(worker, 30_000).catch(() => signalGroup(worker, 'SIGKILL'));
  }
  for (const c of await docker.listContainers({ 'pier.instance': instance }).catch(() => [])) {
    await docker.removeContainer(c.id).catch(() => {});
  }
  await removeAppFromDocker(docker, app);
  await api?.close();
  repo?.remove();
  rmSync(workDirectory, { recursive: true, force: true });
}, 60_000);

interface Line {
  id: number;
  replica: string;
  process: string;
  release: number | null;
  stream: string;
  line: string;
}

async function workerLines(): Promise<Line[]> {
  const res = await api.request({ method: 'GET', url: `${ENV}/logs?process=worker&tail=1000` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().lines;
}

describe('logs of a crashed replica', () => {
  it('are served after the reconciler replaced it, with its container name and release', async () => {
    const sha = repo.commit({
      Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n',
      Procfile: 'web: node server.js\nworker: node crash.js\n',
      'server.js': SERVER,
      'crash.js': CRASH,
    });
    repo.push();
    const res = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha),
      secret,
    });
    expect(res.statusCode, res.body).toBe(202);
    const deployment = await waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed'], 120_000);
    expect(deployment.state, deployment.reason).toBe('live');

    // The first worker crashes at once; the reconciler starts another after its backoff (10 s by default).
    await expect
      .poll(async () => new Set((await workerLines()).map((l) => l.replica)).size, { timeout: 60_000, interval: 1000 })
      .toBeGreaterThanOrEqual(2);
    const lines = await workerLines();
    const first = lines[0] as Line;
    const firstLines = lines.filter((l) => l.replica === first.replica);
    const hello = firstLines.find((l) => l.line.startsWith('hello from '));
    const containerId = hello?.line.replace('hello from ', '') ?? '';
    // stdout and stderr are captured apart: their order between them is the engine's.
    expect(firstLines.map((l) => [l.stream, l.line]).sort()).toEqual([
      ['stderr', 'about to fail'],
      ['stdout', `hello from ${containerId}`],
    ]);
    expect(firstLines.every((l) => l.release === 1 && l.process === 'worker')).toBe(true);
    expect(first.replica).toMatch(new RegExp(`^pier-${app}-staging-v1-worker-`));
    // That container was replaced: it runs no more (removed, or exited), and another one printed since.
    const old = await docker.inspectContainer(first.replica);
    expect(old === null || old.status !== 'running').toBe(true);
    expect(old === null || old.id.startsWith(containerId)).toBe(true);
    expect(lines.filter((l) => l.replica !== first.replica && l.line.startsWith('hello from ')).length).toBeGreaterThan(0);
  }, 150_000);

  it('keeps the output of a one-off run whose container ends at once and is removed', async () => {
    const res = await api.request({ method: 'POST', url: `${ENV}/runs`, payload: { command: ['echo', `one-off ${run}`] } });
    expect(res.statusCode, res.body).toBe(202);
    const stored = async () => {
      const answer = await api.request({ method: 'GET', url: `${ENV}/logs?process=run` });
      return (answer.json().lines as Line[]).map((l) => [l.process, l.release, l.line]);
    };
    await expect.poll(stored, { timeout: 30_000, interval: 500 }).toEqual([['run', 1, `one-off ${run}`]]);
    // Its container is gone (the executor removes it), its line is not.
    await expect
      .poll(async () => (await docker.listContainers({ 'pier.instance': instance, 'pier.role': 'run' })).length, {
        timeout: 10_000,
      })
      .toBe(0);
  }, 60_000);
});
