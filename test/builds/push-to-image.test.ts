import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const appName = `push-${Date.now().toString(36)}`;

const NODE_APP = {
  'package.json': JSON.stringify({ name: 'hello', version: '1.0.0', scripts: { start: 'node server.js' } }),
  'server.js': "require('http').createServer((q, s) => s.end('v1')).listen(process.env.PORT || 3000);\n",
};

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box);
  repo = new TestGitRepository();
  const res = await api.request({
    method: 'POST',
    url: '/apps',
    payload: { name: appName, repository: { fullName: 'acme/hello', cloneUrl: repo.url } },
  });
  expect(res.statusCode).toBe(201);
  secret = res.json().webhookSecret;
});

afterAll(async () => {
  await worker?.stop();
  // The build is followed by a rollout: its containers and network go too.
  for (const c of (await worker?.docker.listContainers({ 'pier.app': appName })) ?? []) await worker.docker.removeContainer(c.id);
  await worker?.docker.removeNetwork(`pier-${appName}-staging`);
  const images = await worker?.docker.listImages({ 'pier.app': appName });
  for (const image of images ?? []) await worker.docker.removeImage(image.imageId).catch(() => {});
  await api?.close();
  repo?.remove();
});

async function waitForState(id: string, states: string[], timeoutMs = 240_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.request({ method: 'GET', url: `/deployments/${id}` });
    const body = res.json();
    if (states.includes(body.state)) return body;
    if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${body.state}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('push to image', () => {
  it('a signed push to the default branch builds a tagged, labelled image for staging', { timeout: 240_000 }, async () => {
    const sha = repo.commit(NODE_APP, 'first');
    repo.push();
    const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload('acme/hello', 'refs/heads/main', sha), secret });
    expect(res.statusCode).toBe(202);
    const [created] = res.json().deployments;
    expect(created).toMatchObject({ app: appName, environment: 'staging' });

    // Built means the image is recorded; the rollout that follows may already have made it live.
    const done = await waitForState(created.id, ['deploying', 'live', 'failed']);
    expect(done.reason).toBeNull();
    expect(['deploying', 'live']).toContain(done.state);
    expect(done.commit).toBe(sha);
    expect(done.image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(done.image.tag).toBe(`pier/${appName}:${sha}`);
    expect(done.buildStartedAt).not.toBeNull();
    expect(done.buildFinishedAt).not.toBeNull();

    const [image] = await worker.docker.listImages({ 'pier.app': appName, 'pier.commit': sha });
    expect(image?.imageId).toBe(done.image.id);
    expect(image?.tags).toContain(`pier/${appName}:${sha}`);

    const logs = (await api.request({ method: 'GET', url: `/deployments/${created.id}/logs` })).json();
    const text = logs.lines.map((l: { line: string }) => l.line).join('\n');
    expect(text).toContain(`fetching commit ${sha}`);
    expect(text).toContain('building as a node app');
  });
});
