import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, getText, servingPorts, versionedApp, waitForDeployment } from '../support/deploy-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const app = `flow-${Date.now().toString(36)}`;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, {
    reconcileIntervalMs: 1000,
    reconcilePlan: { backoffBaseMs: 1000, unhealthyAfterMs: 3000 },
  });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: 'acme/flow', cloneUrl: repo.url, replicas: 2, drainTimeoutMs: 1000 });
});

afterAll(async () => {
  await worker?.stop();
  for (const c of (await worker?.docker.listContainers({ 'pier.app': app })) ?? []) await worker.docker.removeContainer(c.id);
  for (const image of (await worker?.docker.listImages({ 'pier.app': app })) ?? [])
    await worker.docker.removeImage(image.imageId).catch(() => {});
  await worker?.docker.removeNetwork(`pier-${app}-staging`);
  await api?.close();
  repo?.remove();
});

async function push(files: Record<string, string>, message: string) {
  const sha = repo.commit(files, message);
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload('acme/flow', 'refs/heads/main', sha), secret });
  expect(res.statusCode).toBe(202);
  return res.json().deployments[0].id as string;
}

async function responses(): Promise<string[]> {
  return Promise.all((await servingPorts(api, app, 'staging')).map((port) => getText(port)));
}

describe('image to traffic', () => {
  it('a push ends live: two healthy replicas of release v1 serve', async () => {
    const id = await push(versionedApp('v1'), 'v1');
    const done = await waitForDeployment(api, id, ['live', 'failed']);
    expect(done.reason).toBeNull();
    expect(done.state).toBe('live');
    expect(await responses()).toEqual(['v1', 'v1']);
    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/status` })).json();
    expect(status.liveRelease.version).toBe(1);
    expect(status.replicas.filter((r: { state: string }) => r.state === 'serving')).toHaveLength(2);
    expect(status.health).toBe('ok');
  });

  it('v2 replaces v1: the route switches, old replicas drain and are removed', async () => {
    const before = await worker.docker.listContainers({ 'pier.app': app });
    const id = await push(versionedApp('v2'), 'v2');
    expect((await waitForDeployment(api, id, ['live', 'failed'])).state).toBe('live');
    expect(await responses()).toEqual(['v2', 'v2']);
    await expect
      .poll(
        async () =>
          (await worker.docker.listContainers({ 'pier.app': app }))
            .map((c) => c.id)
            .filter((c) => before.some((b) => b.id === c)),
        {
          timeout: 30_000,
        },
      )
      .toEqual([]);
    const list = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/deployments` })).json().deployments;
    expect(list.map((d: { state: string }) => d.state).slice(0, 2)).toEqual(['live', 'superseded']);
  });

  it('a v3 that never gets healthy fails with the reason, and v2 keeps serving', async () => {
    const id = await push(versionedApp('v3', 500), 'v3 broken');
    const done = await waitForDeployment(api, id, ['live', 'failed']);
    expect(done.state).toBe('failed');
    expect(done.reason).toContain('did not pass its health check');
    expect(done.reason).toContain('500');
    expect(await responses()).toEqual(['v2', 'v2']);
    const leftovers = (await worker.docker.listContainers({ 'pier.app': app })).length;
    expect(leftovers).toBe(2);
  });

  it('rollback redeploys release v1 without a rebuild', async () => {
    const res = await api.request({ method: 'POST', url: `/apps/${app}/environments/staging/rollback`, payload: { release: 1 } });
    expect(res.statusCode).toBe(202);
    const done = await waitForDeployment(api, res.json().id, ['live', 'failed']);
    expect(done.state).toBe('live');
    expect(await responses()).toEqual(['v1', 'v1']);
  });

  it('a killed replica is replaced by the reconciler', async () => {
    const [port] = await servingPorts(api, app, 'staging');
    const [victim] = (await worker.docker.listContainers({ 'pier.app': app })).filter((c) => c.hostPort === port);
    await worker.docker.docker.getContainer(victim?.id as string).kill();
    await expect
      .poll(async () => (await servingPorts(api, app, 'staging')).filter((p) => p !== port).length, {
        timeout: 30_000,
        interval: 500,
      })
      .toBe(2);
    expect(await responses()).toEqual(['v1', 'v1']);
  });

  it('scaling to one replica drains the other, without a rebuild', async () => {
    await api.request({ method: 'PATCH', url: `/apps/${app}/environments/staging`, payload: { replicas: 1 } });
    await expect.poll(async () => (await servingPorts(api, app, 'staging')).length, { timeout: 20_000 }).toBe(1);
    await expect.poll(async () => (await worker.docker.listContainers({ 'pier.app': app })).length, { timeout: 60_000 }).toBe(1);
  }, 90_000);
});
