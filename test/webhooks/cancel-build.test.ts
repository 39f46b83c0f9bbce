import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';
import {
  type CreatedApp,
  createBuildApp,
  expectBuilt,
  stopWorkerAndRemoveDockerObjects,
  tinyDockerfile,
  uniqueAppName,
  waitForBuildOver,
  waitForState,
} from './webhook-fixtures.ts';

/** Real Docker builds on a shared two-core machine: generous, the builds themselves take seconds. */
const BUILD_TEST_TIMEOUT_MS = 120_000;
/**
 * Cancelling a build that is running in Docker: the deployment ends
 * `cancelled` within seconds, the build's container is gone, no image is left,
 * and the environment builds the next push normally.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let app: CreatedApp;
const REPO = 'acme-cancel-build/site';
const appName = uniqueAppName('cancel-build');
/** In the RUN command, so that the build's container can be found by its command line. */
const MARKER = `pier-cancel-${appName}`;

beforeAll(async () => {
  api = await createTestApi();
  repo = new TestGitRepository();
  app = await createBuildApp(api, appName, { fullName: REPO, cloneUrl: repo.url });
  worker = await startTestWorker(api.database, api.box);
});

afterAll(async () => {
  // Whatever happened, no container of this test survives it.
  for (const c of (await markedContainers().catch(() => [])) ?? []) {
    await worker.docker.docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  }
  await stopWorkerAndRemoveDockerObjects(worker, [appName]);
  await api?.close();
  repo?.remove();
});

/** Containers, running or not, whose command carries this test's marker. */
async function markedContainers() {
  const all = await worker.docker.docker.listContainers({ all: true });
  return all.filter((c) => c.Command.includes(MARKER));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const push = (sha: string) =>
  sendWebhook(api.app, { event: 'push', payload: pushPayload(REPO, 'refs/heads/main', sha), secret: app.secret });

describe('cancelling a running build', () => {
  it(
    'ends it within seconds and leaves no container or image behind',
    async () => {
      const sha = repo.commit({ Dockerfile: tinyDockerfile(`echo ${MARKER} && sleep 60`) }, 'slow');
      repo.push();
      const id: string = (await push(sha)).json().deployments[0].id;

      // Wait until Docker runs the RUN step.
      const [container] = await waitFor(
        'the build container',
        async () => {
          const found = await markedContainers();
          return found.some((c) => c.State === 'running') ? found : undefined;
        },
        60_000,
      );
      expect(container).toBeDefined();
      expect((await api.request({ method: 'GET', url: `/deployments/${id}` })).json().state).toBe('building');

      const asked = Date.now();
      const res = await api.request({ method: 'POST', url: `/deployments/${id}/cancel` });
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toMatchObject({ id, state: 'building', cancelRequested: true });

      const done = await waitForState(api, id, ['cancelled', 'failed', 'deploying', 'live'], 10_000);
      expect(Date.now() - asked).toBeLessThan(10_000);
      expect(done).toMatchObject({ state: 'cancelled', reason: 'cancelled on request', image: null });
      expect(done.buildFinishedAt).not.toBeNull();
      expect(done.finishedAt).not.toBeNull();
      expect(done.events.map((e: { to: string }) => e.to)).toEqual(['queued', 'building', 'cancelled']);

      // No container of the build, running or stopped, and no image for the commit.
      expect(await markedContainers()).toEqual([]);
      await expect(worker.docker.docker.getContainer(container?.Id ?? '').inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect(await worker.docker.listImages({ 'pier.app': appName, 'pier.commit': sha })).toEqual([]);

      const logs = (await api.request({ method: 'GET', url: `/deployments/${id}/logs` })).json();
      expect(logs.lines.map((l: { line: string }) => l.line).join('\n')).toContain('build cancelled');

      // Over: a second cancel is a conflict.
      expectError(await api.request({ method: 'POST', url: `/deployments/${id}/cancel` }), 409, 'conflict', 'cancelled');
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  it(
    'frees the environment: the next push builds',
    async () => {
      const sha = repo.commit({ Dockerfile: tinyDockerfile(`echo after-cancel-${appName}`) }, 'quick');
      repo.push();
      const id: string = (await push(sha)).json().deployments[0].id;
      const done = await waitForBuildOver(api, id);
      expect(done.reason).toBeNull();
      expectBuilt(done);
    },
    BUILD_TEST_TIMEOUT_MS,
  );
});
