import { LABEL_APP, LABEL_RELEASE } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_PROCESS } from '../../apps/worker/src/deploy/replica-spec.ts';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * A release without web, on real Docker through the worker's real loops: a
 * generated build from a Procfile with only `worker` goes live with no health gate and no route,
 * its worker runs, and the next release replaces it.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const app = `ponly-${Date.now().toString(36)}`;
const ENV = `/apps/${app}/environments/staging`;

/**
 * A Procfile alone (a generated build FROM the Procfile base image) whose only type is a worker: the image's
 * command is the worker's, and the release has no web. (With a Dockerfile or a package.json, the image's own
 * command stays the web process.)
 */
function files(version: string): Record<string, string> {
  return {
    Procfile: `worker: echo 'worker ${version} up'; trap 'exit 0' TERM; while true; do sleep 1; done\n`,
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

async function deploy(version: string) {
  const sha = repo.commit(files(version));
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha), secret });
  expect(res.statusCode, res.body).toBe(202);
  return waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed'], 180_000);
}

async function runningOf(type: string) {
  return (await worker.docker.listContainers({ [LABEL_APP]: app, [LABEL_PROCESS]: type })).filter((c) => c.status === 'running');
}

describe('a release with no web process', () => {
  it('goes live with its worker running and nothing of web', async () => {
    const first = await deploy('v1');
    expect(first.state, first.reason).toBe('live');
    await expect.poll(async () => (await runningOf('worker')).length, { timeout: 30_000, interval: 500 }).toBe(1);
    expect(await runningOf('web')).toEqual([]);
    const status = async () => (await api.request({ method: 'GET', url: `${ENV}/status` })).json();
    await expect
      .poll(async () => (await status()).processes.map((p: { type: string; running: number }) => [p.type, p.running]), {
        timeout: 15_000,
        interval: 500,
      })
      .toEqual([['worker', 1]]);
    expect((await status()).replicas.map((r: { process: string }) => r.process)).toEqual(['worker']);
  }, 240_000);

  it('the next release replaces the worker', async () => {
    const [old] = await runningOf('worker');
    const second = await deploy('v2');
    expect(second.state, second.reason).toBe('live');
    await expect
      .poll(async () => (await runningOf('worker')).map((c) => c.labels[LABEL_RELEASE] === old?.labels[LABEL_RELEASE]), {
        timeout: 30_000,
        interval: 500,
      })
      .toEqual([false]);
    const [fresh] = await runningOf('worker');
    const output = async () => {
      const lines: string[] = [];
      for await (const entry of worker.docker.containerLogs(fresh?.id ?? '', { tail: 5 })) lines.push(entry.line);
      return lines;
    };
    await expect.poll(output, { timeout: 15_000, interval: 500 }).toContain('worker v2 up');
  }, 240_000);
});
