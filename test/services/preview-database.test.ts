import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { type PullRequestOptions, pullRequestPayload } from '../previews/pull-request-payloads.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, getText, removeAppFromDocker, servingPorts, waitForDeployment } from '../support/deploy-app.ts';
import { serviceApp } from '../support/service-app.ts';
import { sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/** A preview of an app with `previewDatabase` gets a fresh Postgres of its own, linked, and loses it when the pull request closes. */
let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const app = `pvdb-${Date.now().toString(36)}`;
const REPO = 'acme/preview-db';
const database = `pr-5-${app}`;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  repo = new TestGitRepository();
  repo.commit({ 'README.md': 'preview db\n' }, 'initial');
  repo.push();
  secret = await createFastApp(api, { name: app, fullName: REPO, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
  const patch = await api.request({ method: 'PATCH', url: `/apps/${app}`, payload: { previewDatabase: true } });
  expect(patch.statusCode).toBe(200);
  expect(patch.json().previewDatabase).toBe(true);
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    for (const c of await worker.docker.listContainers({ 'pier.service': database })) await worker.docker.removeContainer(c.id);
    await worker.docker.removeNetwork(`pier-${app}-pr-5`).catch(() => {});
    await worker.docker.removeNetwork(`pier-svc-${database}`).catch(() => {});
    for (const volume of (await worker.docker.docker.listVolumes({ filters: { label: [`pier.service=${database}`] } })).Volumes ??
      [])
      await worker.docker.removeVolume(volume.Name).catch(() => {});
  }
  await api?.close();
  repo?.remove();
}, 60_000);

function pull(options: Omit<PullRequestOptions, 'repository'>) {
  return sendWebhook(api.app, { event: 'pull_request', payload: pullRequestPayload({ repository: REPO, ...options }), secret });
}

describe('a database per preview', () => {
  it('an opened pull request gets pr-<n> with its own Postgres as DATABASE_URL; closing it deletes the database and its data', async () => {
    repo.run('checkout', '--quiet', '-b', 'feature', 'main');
    const sha = repo.commit(serviceApp(), 'feature');
    repo.run('push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/feature');
    repo.run('checkout', '--quiet', 'main');

    const opened = await pull({ number: 5, action: 'opened', sha, headRef: 'feature' });
    expect(opened.statusCode).toBe(202);
    const deployment = opened.json().deployments.find((d: { environment: string }) => d.environment === 'pr-5');
    expect(deployment).toBeDefined();
    const service = (await api.request({ method: 'GET', url: `/services/${database}` })).json();
    expect(service).toMatchObject({ name: database, type: 'postgres', linkedTo: [`${app}/pr-5`] });

    const done = await waitForDeployment(api, deployment.id, ['live', 'failed'], 240_000);
    expect(done.reason).toBeNull();
    expect(done.state).toBe('live');
    const [port] = await servingPorts(api, app, 'pr-5');
    expect(await getText(port as number, '/env')).toBe('DATABASE_URL');
    expect(await getText(port as number, '/pg/write?v=preview')).toBe('written');
    expect(await getText(port as number, '/pg/read')).toBe('preview');
    // Staging has no database of its own.
    const stagingLinks = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/links` })).json();
    expect(stagingLinks.links).toEqual([]);

    const closed = await pull({ number: 5, action: 'closed', sha, headRef: 'feature' });
    expect(closed.statusCode).toBe(202);
    await expect
      .poll(async () => (await api.request({ method: 'GET', url: `/services/${database}` })).statusCode, {
        timeout: 90_000,
        interval: 500,
      })
      .toBe(404);
    const volumes = await worker.docker.docker.listVolumes({ filters: { name: [service.volume] } });
    expect(volumes.Volumes ?? []).toEqual([]);
    expect(await worker.docker.listContainers({ 'pier.service': database })).toEqual([]);
  }, 360_000);
});
