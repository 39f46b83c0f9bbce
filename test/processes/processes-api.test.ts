import { DEFAULT_APP_QUOTAS, type Principal } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';
import { makeLive } from '../support/live-release.ts';

/**
 * `GET/PATCH …/environments/:env/processes[/:type]` on a real database: what
 * a live release with a Procfile's `web` and `worker` shows, and every bad
 * request refused with the field named and nothing changed. The app's
 * replica quota is 4: staging's and production's web replica, and two more.
 */

let api: TestApi;
let stores: ReturnType<typeof createStores>;
let ownToken: string;
let otherToken: string;
const ADMIN: Principal = { role: 'admin', tokenId: null };
const URL = '/apps/queue/environments/production/processes';

beforeAll(async () => {
  api = await createTestApi({ quotas: { ...DEFAULT_APP_QUOTAS, replicas: 4 } });
  stores = createStores(api.database.db, api.box);
  for (const name of ['queue', 'other']) {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  }
  const app = await stores.apps.get(ADMIN, 'queue');
  const env = await stores.environments.get(app.id, 'production');
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: 'sha256:queue-live',
    imageRef: `pier/queue:${'e'.repeat(40)}`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
    processes: { web: null, worker: 'node worker.js' },
  });
  await makeLive(api.database.db, env.id, release.id, []);
  ownToken = await appToken('queue');
  otherToken = await appToken('other');
});
afterAll(async () => api?.close());

async function appToken(app: string): Promise<string> {
  const res = await api.request({ method: 'POST', url: '/tokens', payload: { name: `${app}-ci`, app } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().token;
}

/** Every row but the tokens' last use, which each authenticated request updates. */
async function state() {
  const all = await snapshotState(api.database.sql);
  const tokens = all.api_tokens as { last_used_at: unknown }[];
  return { ...all, api_tokens: tokens.map(({ last_used_at: _, ...row }) => row) };
}

/** Sends a PATCH that must be refused, and checks that it changed nothing. */
async function refused(type: string, payload: unknown, token?: string) {
  const before = await state();
  const res = await api.request({ method: 'PATCH', url: `${URL}/${type}`, payload: payload as object, token });
  expect(await state()).toEqual(before);
  return res;
}

describe('the process types of a live release', () => {
  it('lists web (the image’s own command) and worker with the default replicas and limits', async () => {
    const res = await api.request({ method: 'GET', url: URL });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      release: 1,
      processes: [
        expect.objectContaining({ type: 'web', command: null, replicas: 1, running: 0, memoryMb: 512, cpus: 1 }),
        expect.objectContaining({ type: 'worker', command: 'node worker.js', replicas: 1, memoryMb: 512, cpus: 1 }),
      ],
    });
    expect(res.json().processes[1]).toMatchObject({ limitsSource: 'default', lastExit: null, restartStreak: 0 });
  });
});

describe('bad requests change nothing', () => {
  it('a type the live release does not run is refused naming type', async () => {
    const res = await refused('clock', { replicas: 1 });
    const message = expectError(res, 422, 'validation_failed', 'type: unknown process type "clock"');
    expect(message).toContain('release v1 runs web, worker');
  });

  it('a type name that is not one is refused naming type', async () => {
    expectError(await refused('no%20such', { replicas: 1 }), 422, 'validation_failed', 'type');
  });

  it.each([
    [{ memoryMb: 31 }, 'memoryMb', 'at least 32 MiB'],
    [{ memoryMb: 0 }, 'memoryMb', 'at least 32 MiB'],
    [{ memoryMb: '64' }, 'memoryMb', ''],
    [{ cpus: 0.01 }, 'cpus', 'at least 0.05'],
    [{ replicas: -1 }, 'replicas', ''],
    [{ replicas: 1.5 }, 'replicas', ''],
    [{ replicas: 1, memory: 64 }, 'memory', ''],
  ])('%j is refused naming %s', async (payload, field, words) => {
    const message = expectError(await refused('worker', payload), 422, 'validation_failed', field);
    expect(message).toContain(words);
  });

  it('an empty body is refused, saying what to give', async () => {
    expectError(await refused('worker', {}), 422, 'validation_failed', 'give replicas, memoryMb or cpus');
  });

  it('replicas past the app’s quota are a conflict that names the quota', async () => {
    // 1 (staging web) + 1 (production web) + 3 workers = 5 > 4.
    const message = expectError(await refused('worker', { replicas: 3 }), 409, 'conflict', 'body.replicas');
    expect(message).toContain('the app would have 5 replicas in all its environments, more than its quota of 4');
    expectError(await refused('web', { replicas: 4 }), 409, 'conflict', 'body.replicas');
  });

  it('an app token of another app gets the same 404 as the other routes; the app’s own token may scale', async () => {
    const elsewhere = await api.request({ method: 'GET', url: '/apps/queue/environments/production', token: otherToken });
    expectError(elsewhere, 404, 'not_found', 'app queue not found');
    expectError(await refused('worker', { replicas: 2 }, otherToken), 404, 'not_found', 'app queue not found');
    expectError(await api.request({ method: 'GET', url: URL, token: otherToken }), 404, 'not_found', 'app queue not found');

    const own = await api.request({ method: 'PATCH', url: `${URL}/worker`, payload: { replicas: 2 }, token: ownToken });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toMatchObject({ process: { type: 'worker', replicas: 2 }, deployment: null });
  });
});

describe('changes that fit', () => {
  it('scales to the quota exactly, and down to zero, without a deployment', async () => {
    const deployments = async () => (await api.database.sql`select id from deployments`).length;
    const before = await deployments();
    for (const replicas of [2, 0, 2]) {
      const res = await api.request({ method: 'PATCH', url: `${URL}/worker`, payload: { replicas } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ process: { type: 'worker', replicas }, deployment: null });
    }
    expect(await deployments()).toBe(before);
    const listed = (await api.request({ method: 'GET', url: URL })).json().processes;
    expect(listed.map((p: { type: string; replicas: number }) => [p.type, p.replicas])).toEqual([
      ['web', 1],
      ['worker', 2],
    ]);
  });

  it('a new memory limit redeploys the running image, shown with its source; null goes back to the default', async () => {
    const res = await api.request({ method: 'PATCH', url: `${URL}/worker`, payload: { memoryMb: 64, cpus: 0.5 } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      process: { type: 'worker', memoryMb: 64, cpus: 0.5, limitsSource: 'api' },
      deployment: { trigger: 'config', state: 'deploying', image: { id: 'sha256:queue-live' } },
    });
    const back = await api.request({ method: 'PATCH', url: `${URL}/worker`, payload: { memoryMb: null, cpus: null } });
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json().process).toMatchObject({ memoryMb: 512, cpus: 1, limitsSource: 'default' });
  });
});
