import { LABEL_APP, LABEL_RELEASE } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_PROCESS } from '../../apps/worker/src/deploy/replica-spec.ts';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { removeServicesFromDocker, serviceReaches } from '../support/services.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';
import { queueApp } from './queue-app.ts';

/**
 * Process types on real Docker through the api and the worker's real loops:
 * one build whose Procfile has `web` and `worker`, linked to a managed Redis.
 * The web process enqueues, the worker consumes; a new release's worker
 * starts only once its web replicas are live and the old worker is gone;
 * the worker scales to 3, to 0 and back without a build or a deployment.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const run = Date.now().toString(36);
const app = `pwork-${run}`;
const cache = `pwork-cache-${run}`;
const ENV = `/apps/${app}/environments/staging`;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000, collectLogs: true });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: `acme/${app}`, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    await removeServicesFromDocker(worker, [cache]);
  }
  await api?.close();
  repo?.remove();
}, 120_000);

/** Commits the app at `version`, pushes it and waits until its deployment is live. */
async function deploy(version: string): Promise<{ id: string; finishedAt: string }> {
  const sha = repo.commit(queueApp(version), `queue app ${version}`);
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha), secret });
  expect(res.statusCode, res.body).toBe(202);
  const done = await waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed'], 180_000);
  expect(done.state, done.reason).toBe('live');
  return done;
}

interface ReplicaView {
  id: string;
  process: string;
  release: number | null;
  state: string;
  address: { host: string; port: number } | null;
}

interface StatusView {
  replicas: ReplicaView[];
  processes: { type: string; replicas: number; running: number }[];
  rollout: { finishedAt: string | null };
}

async function status(): Promise<StatusView> {
  const res = await api.request({ method: 'GET', url: `${ENV}/status` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** The port of the serving web replica (its host is loopback on this Engine). */
async function webPort(): Promise<number> {
  const web = (await status()).replicas.find((r) => r.process === 'web' && r.state === 'serving' && r.address);
  if (!web?.address) throw new Error('no serving web replica');
  return web.address.port;
}

/** Has the web process enqueue job `id`, then waits until some worker wrote its result, and returns it. */
async function processed(id: string): Promise<string> {
  const port = await webPort();
  const queued = await fetch(`http://127.0.0.1:${port}/enqueue?id=${id}`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  expect(queued.status, await queued.clone().text()).toBe(200);
  let result = '';
  await expect
    .poll(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/result?id=${id}`, { signal: AbortSignal.timeout(5000) });
        result = await res.text();
        return result;
      },
      { timeout: 30_000, interval: 300 },
    )
    .toMatch(/^processed-by-/);
  return result;
}

/** The app's running containers of one process type, from Docker itself. */
async function running(type: string) {
  const all = await worker.docker.listContainers({ [LABEL_APP]: app, [LABEL_PROCESS]: type });
  return all.filter((c) => c.status === 'running');
}

async function deploymentCount(): Promise<number> {
  const [row] = await api.database.sql<{ n: number }[]>`
    select count(*)::int as n from deployments d join apps a on a.id = d.app_id where a.name = ${app}`;
  return row?.n ?? 0;
}

describe('web and worker from one build, with a linked Redis', () => {
  it('runs both types of the Procfile from one image; the worker consumes what the web process enqueues', async () => {
    const created = await api.request({ method: 'POST', url: '/services', payload: { type: 'redis', name: cache } });
    expect(created.statusCode, created.body).toBe(202);
    await serviceReaches(api, cache);
    // Linked before anything is deployed: the first release already has REDIS_URL.
    const linked = await api.request({ method: 'POST', url: `${ENV}/links`, payload: { service: cache } });
    expect(linked.statusCode, linked.body).toBe(201);
    await deploy('v1');
    await expect.poll(async () => (await running('worker')).length, { timeout: 30_000, interval: 500 }).toBe(1);
    const [web] = await running('web');
    const [consumer] = await running('worker');
    expect(consumer?.imageId).toBe(web?.imageId);
    expect(consumer?.hostPort).toBeNull();

    const result = await processed('job-1');
    // The worker's container did it (its hostname is its id's first 12 characters), from release v1.
    expect(result).toBe(`processed-by-${consumer?.id.slice(0, 12)}/v1`);

    // Logs of one type: each line tagged with it.
    const logs = async (type: string) => {
      const res = await api.request({ method: 'GET', url: `${ENV}/logs?process=${type}` });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().lines as { process: string; line: string }[];
    };
    await expect
      .poll(async () => (await logs('worker')).map((l) => `${l.process}: ${l.line}`), { timeout: 15_000, interval: 500 })
      .toEqual(['worker: worker v1 waiting for jobs', 'worker: processed job-1']);
    expect((await logs('web')).filter((l) => l.process !== 'web')).toEqual([]);

    // A replica counts as running once the reconciler marked it so (the pass after its container started).
    await expect
      .poll(async () => (await status()).processes.map((p) => [p.type, p.replicas, p.running]), {
        timeout: 15_000,
        interval: 500,
      })
      .toEqual([
        ['web', 1, 1],
        ['worker', 1, 1],
      ]);
    const shown = await status();
    expect(shown.replicas.map((r) => [r.process, r.release]).sort()).toEqual([
      ['web', 1],
      ['worker', 1],
    ]);
  }, 300_000);

  it('a new release replaces the worker only after its web replicas are live; a job after it is done by the new worker', async () => {
    const [oldWorker] = await running('worker');
    const oldRelease = oldWorker?.labels[LABEL_RELEASE];
    // Sampled all through the rollout, in one query each time: a worker of a release that is not (yet) live.
    const early: string[] = [];
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await api.database.sql<{ version: number }[]>`
          select rel.version from replicas r
          join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
          join releases rel on rel.id = r.release_id
          where a.name = ${app} and e.name = 'staging' and r.process_type = 'worker'
            and r.release_id is distinct from e.live_release_id and r.release_id <> ${oldRelease ?? ''}`;
        early.push(...rows.map((r) => `v${r.version}`));
        samples += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const before = await deploymentCount();
    try {
      await deploy('v2');
    } finally {
      sampling = false;
      await sampler;
    }
    expect(samples).toBeGreaterThan(5);
    expect(early, 'a worker of the new release existed before the release went live').toEqual([]);
    expect(await deploymentCount()).toBe(before + 1);

    const { finishedAt } = (await status()).rollout;
    expect(finishedAt).not.toBeNull();
    const switched = new Date(finishedAt as string).getTime();
    await expect
      .poll(async () => (await running('worker')).map((c) => c.labels[LABEL_RELEASE] === oldRelease), {
        timeout: 30_000,
        interval: 500,
      })
      .toEqual([false]);
    const [newWorker] = await running('worker');
    expect(newWorker?.startedAt?.getTime()).toBeGreaterThanOrEqual(switched);
    // The old worker is stopped and removed, not left behind (in any state).
    const oldWorkers = () =>
      worker.docker.listContainers({ [LABEL_APP]: app, [LABEL_PROCESS]: 'worker', [LABEL_RELEASE]: oldRelease ?? '' });
    await expect.poll(oldWorkers, { timeout: 30_000, interval: 500 }).toEqual([]);
    // It was stopped with SIGTERM (and had time to say so), not killed outright.
    const port = await webPort();
    const stopped = await fetch(`http://127.0.0.1:${port}/result?id=stopped-${oldWorker?.id.slice(0, 12)}`);
    expect(await stopped.text()).toBe('SIGTERM');

    expect(await processed('job-2')).toBe(`processed-by-${newWorker?.id.slice(0, 12)}/v2`);
  }, 300_000);

  it('scales the worker to 3, to 0 and back to 1 without a build or a deployment', async () => {
    const before = await deploymentCount();
    const scale = async (replicas: number) => {
      const res = await api.request({ method: 'PATCH', url: `${ENV}/processes/worker`, payload: { replicas } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ process: { type: 'worker', replicas }, deployment: null });
      await expect.poll(async () => (await running('worker')).length, { timeout: 30_000, interval: 500 }).toBe(replicas);
    };

    await scale(3);
    const three = await running('worker');
    expect(new Set(three.map((c) => c.labels[LABEL_RELEASE])).size).toBe(1);
    await expect
      .poll(async () => (await status()).processes.find((p) => p.type === 'worker')?.running, { timeout: 15_000, interval: 500 })
      .toBe(3);

    await scale(0);
    await expect
      .poll(async () => (await status()).replicas.filter((r) => r.process === 'worker'), { timeout: 15_000, interval: 500 })
      .toEqual([]);
    // The web process still takes jobs; nothing consumes them while no worker runs.
    const port = await webPort();
    const queued = await fetch(`http://127.0.0.1:${port}/enqueue?id=job-3`, {
      method: 'POST',
      signal: AbortSignal.timeout(5000),
    });
    expect(queued.status).toBe(200);

    await scale(1);
    const [back] = await running('worker');
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/result?id=job-3`)).text(), { timeout: 30_000, interval: 300 })
      .toBe(`processed-by-${back?.id.slice(0, 12)}/v2`);
    expect(await deploymentCount()).toBe(before);
    expect((await running('web')).length).toBe(1);
  }, 240_000);
});
