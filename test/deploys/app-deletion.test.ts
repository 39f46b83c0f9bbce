import { LABEL_APP } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, versionedApp, waitForDeployment } from '../support/deploy-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

const MiB = 1024 * 1024;
const suffix = Date.now().toString(36);
const apps = { waited: `gone-${suffix}`, later: `gone-later-${suffix}` };
let api: TestApi;
let worker: TestWorker;
const repos: TestGitRepository[] = [];

beforeAll(async () => {
  api = await createTestApi({ watchAppDeletions: true });
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  for (const name of Object.values(apps)) if (worker) await removeAppFromDocker(worker.docker, name);
  await api?.close();
  for (const repo of repos) repo.remove();
});

/** An app built from its repository and live on staging, with `uniqueBytes` of random data in its image. */
async function liveBuiltApp(name: string, uniqueBytes: number): Promise<void> {
  const repo = new TestGitRepository();
  repos.push(repo);
  const secret = await createFastApp(api, {
    name,
    fullName: `acme/${name}`,
    cloneUrl: repo.url,
    replicas: 1,
    drainTimeoutMs: 1000,
  });
  const files = versionedApp(name);
  files.Dockerfile = `FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nRUN head -c ${uniqueBytes} /dev/urandom > blob\nCMD ["node", "server.js"]\n`;
  const sha = repo.commit(files, 'v1');
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(`acme/${name}`, 'refs/heads/main', sha), secret });
  expect(res.statusCode).toBe(202);
  const done = await waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed']);
  expect(done.reason).toBeNull();
  expect(await worker.docker.listImages({ [LABEL_APP]: name })).toHaveLength(1);
}

describe('deleting an app', () => {
  it('removes its replicas, then its built images, and answers with the disk freed', async () => {
    await liveBuiltApp(apps.waited, 6 * MiB);
    expect(await worker.docker.listContainers({ [LABEL_APP]: apps.waited })).toHaveLength(1);
    // A release command's one-off container that a dying worker left behind: no replica, and no reason to keep the images.
    const [image] = await worker.docker.listImages({ [LABEL_APP]: apps.waited });
    await worker.docker.docker.createContainer({
      Image: image?.imageId,
      Cmd: ['true'],
      Labels: { [LABEL_APP]: apps.waited, 'pier.role': 'release', 'pier.instance': worker.prefix },
    });
    const res = await api.request({ method: 'DELETE', url: `/apps/${apps.waited}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ app: apps.waited, imagesRemoved: 1 });
    expect(res.json().freedBytes).toBeGreaterThanOrEqual(6 * MiB);
    expect(await worker.docker.listContainers({ [LABEL_APP]: apps.waited })).toEqual([]);
    expect(await worker.docker.listImages({ [LABEL_APP]: apps.waited })).toEqual([]);
  }, 240_000);

  it('with ?wait=0 answers 202 at once; the worker still removes the images after the containers', async () => {
    await liveBuiltApp(apps.later, 1 * MiB);
    const res = await api.request({ method: 'DELETE', url: `/apps/${apps.later}?wait=0` });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ app: apps.later, imagesRemoved: null, freedBytes: null });
    const deadline = Date.now() + 60_000;
    while ((await worker.docker.listImages({ [LABEL_APP]: apps.later })).length > 0) {
      if (Date.now() > deadline) throw new Error('the images of the deleted app are still there after 60 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await worker.docker.listContainers({ [LABEL_APP]: apps.later })).toEqual([]);
  }, 240_000);
});
