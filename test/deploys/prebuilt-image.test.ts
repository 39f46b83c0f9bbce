import { randomBytes } from 'node:crypto';
import { LABEL_APP } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { getText, removeAppFromDocker, servingPorts, waitForDeployment } from '../support/deploy-app.ts';
import { perlAppDockerfile, startTestRegistry, type TestRegistry } from '../support/registry.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

const MiB = 1024 * 1024;
const app = `prebuilt-${Date.now().toString(36)}`;
let api: TestApi;
let worker: TestWorker;
let registry: TestRegistry;
let image: string;

beforeAll(async () => {
  api = await createTestApi({ watchAppDeletions: true });
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  registry = await startTestRegistry(worker.docker.docker);
  // Built elsewhere (here: straight on the Engine, no Pier labels), pushed, and not left locally.
  image = await registry.pushBuilt(`ci/${app}:1.0`, perlAppDockerfile('prebuilt v1', 8 * MiB));
  const created = await api.request({ method: 'POST', url: '/apps', payload: { name: app } });
  expect(created.statusCode).toBe(201);
  const patched = await api.request({
    method: 'PATCH',
    url: `/apps/${app}/environments/staging`,
    payload: { drainTimeoutMs: 1000, healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 30_000 } },
  });
  expect(patched.statusCode).toBe(200);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) await removeAppFromDocker(worker.docker, app);
  await registry?.stop();
  await api?.close();
});

async function setCredentials(password: string): Promise<void> {
  const res = await api.request({
    method: 'PUT',
    url: `/apps/${app}/registry-credentials`,
    payload: { server: registry.host, username: registry.username, password },
  });
  expect(res.statusCode).toBe(204);
}

async function deployImage(): Promise<string> {
  const res = await api.request({ method: 'POST', url: `/apps/${app}/environments/staging/deployments`, payload: { image } });
  expect(res.statusCode).toBe(202);
  expect(res.json()).toMatchObject({ trigger: 'manual', prebuiltImage: image, commit: null, ref: null });
  return res.json().id as string;
}

async function logText(id: string): Promise<string> {
  const lines = (await api.request({ method: 'GET', url: `/deployments/${id}/logs` })).json().lines as { line: string }[];
  return lines.map((l) => l.line).join('\n');
}

describe('a prebuilt image from a registry that wants credentials', () => {
  it('fails with a clear reason when the stored password is wrong, the password nowhere', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    await setCredentials(wrong);
    const id = await deployImage();
    const done = await waitForDeployment(api, id, ['live', 'failed'], 120_000);
    expect(done.state).toBe('failed');
    expect(done.reason).toContain(`pull failed: registry credentials rejected for ${registry.host}`);
    const log = await logText(id);
    expect(log).toContain(`pulling ${image} as ${registry.username}`);
    for (const text of [done.reason, log, api.logs.join(''), worker.logs.join('')]) expect(text).not.toContain(wrong);
    expect(await worker.docker.listImages({ [LABEL_APP]: app })).toEqual([]);
  });

  it('goes live with the right credentials, through the same release path as a build', async () => {
    await setCredentials(registry.password);
    const shown = await api.request({ method: 'GET', url: `/apps/${app}/registry-credentials` });
    expect(shown.json()).toEqual({ server: registry.host, username: registry.username });
    expect((await api.request({ method: 'GET', url: `/apps/${app}` })).json().registryCredentials).toBe(true);

    const id = await deployImage();
    const done = await waitForDeployment(api, id, ['live', 'failed'], 120_000);
    expect(done.reason).toBeNull();
    expect(done.state).toBe('live');
    const ports = await servingPorts(api, app, 'staging');
    expect(ports).toHaveLength(1);
    expect(await getText(ports[0] ?? 0)).toBe('prebuilt v1');

    // Kept as the app's own image: labelled, tagged per deployment, what the release runs.
    const [kept, ...others] = await worker.docker.listImages({ [LABEL_APP]: app });
    expect(others).toEqual([]);
    expect(kept?.tags).toEqual([`pier/${app}:pulled-${id}`]);
    expect(kept?.labels).toMatchObject({ 'pier.pulled-from': image, 'pier.deployment': id, 'pier.role': 'app-image' });
    expect(done.image.id).toBe(kept?.imageId);
    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/status` })).json();
    expect(status.liveRelease.version).toBe(1);
    const releases = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/releases` })).json();
    expect(releases.releases[0].image).toEqual({ id: kept?.imageId, ref: image });

    const log = await logText(id);
    expect(log).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    expect(log).toContain(`pulled ${image}`);
    for (const text of [log, api.logs.join(''), worker.logs.join('')]) expect(text).not.toContain(registry.password);
  }, 180_000);

  it('deleting the app removes its containers, then its images, and says how much disk was freed', async () => {
    const res = await api.request({ method: 'DELETE', url: `/apps/${app}?wait=90` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ app, imagesRemoved: 1 });
    // Its 8 MiB of random data were in no other image.
    expect(body.freedBytes).toBeGreaterThanOrEqual(8 * MiB);
    expect(await worker.docker.listContainers({ [LABEL_APP]: app })).toEqual([]);
    expect(await worker.docker.listImages({ [LABEL_APP]: app })).toEqual([]);
  }, 120_000);
});
