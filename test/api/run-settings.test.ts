import type { Principal } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { makeLive } from '../support/live-release.ts';

let api: TestApi;
let stores: ReturnType<typeof createStores>;
beforeAll(async () => {
  api = await createTestApi();
  stores = createStores(api.database.db, api.box);
});
afterAll(async () => api?.close());

const COMMIT = 'c'.repeat(40);
const ADMIN: Principal = { role: 'admin', tokenId: null };

async function patch(app: string, env: string, payload: object) {
  return api.request({ method: 'PATCH', url: `/apps/${app}/environments/${env}`, payload });
}

/** An app whose staging runs release v1 of `sha256:live…`, as a finished deploy leaves it. */
async function appWithLiveStaging(name: string) {
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  const app = await stores.apps.get(ADMIN, name);
  const env = await stores.environments.get(app.id, 'staging');
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: `sha256:live-${name}`,
    imageRef: `pier/${name}:${COMMIT}`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
  });
  await makeLive(api.database.db, env.id, release.id, []);
  return { app, env, release };
}

describe('the port and health check of an environment', () => {
  it('are unset (automatic) on a new environment, and PATCH sets and clears them; nothing deployed, nothing redeploys', async () => {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'fresh' } })).statusCode).toBe(201);
    const shown = (await api.request({ method: 'GET', url: '/apps/fresh/environments/staging' })).json();
    expect({ port: shown.port, path: shown.healthCheck.path }).toEqual({ port: null, path: null });

    const set = await patch('fresh', 'staging', { port: 3000, healthCheck: { path: 'tcp' } });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ port: 3000, healthCheck: { path: 'tcp' }, deployment: null });
    const cleared = await patch('fresh', 'staging', { port: null, healthCheck: { path: null } });
    expect(cleared.json()).toMatchObject({ port: null, healthCheck: { path: null }, deployment: null });
    expect((await api.request({ method: 'GET', url: '/apps/fresh/environments/staging' })).json().port).toBeNull();
  });

  it('changing either redeploys the running image as a config deployment; other changes do not', async () => {
    const { env, release } = await appWithLiveStaging('running');
    const moved = await patch('running', 'staging', { port: 3000 });
    expect(moved.statusCode).toBe(200);
    expect(moved.json().deployment).toMatchObject({
      trigger: 'config',
      state: 'deploying',
      environment: 'staging',
      commit: COMMIT,
      image: { id: release.imageId },
    });
    const [row] = await api.database.sql`select release_id, image_id from deployments where id = ${moved.json().deployment.id}`;
    expect(row).toEqual({ release_id: null, image_id: release.imageId }); // a new release of the same image, with the new port

    expect((await patch('running', 'staging', { port: 3000 })).json().deployment).toBeNull(); // unchanged
    expect((await patch('running', 'staging', { replicas: 2 })).json().deployment).toBeNull();
    expect((await patch('running', 'staging', { healthCheck: { intervalMs: 1000 } })).json().deployment).toBeNull();
    expect((await patch('running', 'staging', { healthCheck: { path: '/up' } })).json().deployment).toMatchObject({
      trigger: 'config',
    });
    expect((await patch('running', 'staging', { healthCheck: { path: null } })).json().deployment).toMatchObject({
      trigger: 'config',
    });
    const triggers = await api.database.sql`select trigger from deployments where environment_id = ${env.id}`;
    expect(triggers.map((t) => t.trigger)).toEqual(['config', 'config', 'config']);
  });

  it.each([
    [{ port: 0 }, 'body.port'],
    [{ port: 65_536 }, 'body.port'],
    [{ port: 80.5 }, 'body.port'],
    [{ port: '3000' }, 'body.port'],
    [{ healthCheck: { path: 'TCP' } }, 'body.healthCheck.path'],
    [{ healthCheck: { path: 'health' } }, 'body.healthCheck.path'],
  ])('refuses %j, naming %s', async (payload, field) => {
    expectError(await patch('fresh', 'staging', payload), 422, 'validation_failed', field);
  });
});

describe('PATCH …/variables with redeploy', () => {
  it('redeploys the running image with the new variables only when asked, and answers null before the first deploy', async () => {
    const { env, release } = await appWithLiveStaging('vars-redeploy');
    const url = '/apps/vars-redeploy/environments/staging/variables';
    const quiet = await api.request({ method: 'PATCH', url, payload: { set: { A: '1' } } });
    expect(quiet.statusCode, quiet.body).toBe(200);
    expect(quiet.json()).toMatchObject({ set: ['A'], deployment: null });
    const loud = await api.request({ method: 'PATCH', url, payload: { set: { B: '2' }, unset: ['A'], redeploy: true } });
    expect(loud.statusCode, loud.body).toBe(200);
    expect(loud.json()).toMatchObject({
      set: ['B'],
      unset: ['A'],
      deployment: { trigger: 'config', commit: COMMIT, image: { id: release.imageId } },
    });
    const triggers = await api.database.sql`select trigger from deployments where environment_id = ${env.id}`;
    expect(triggers.map((t) => t.trigger)).toEqual(['config']);

    expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'vars-fresh' } })).statusCode).toBe(201);
    const fresh = await api.request({
      method: 'PATCH',
      url: '/apps/vars-fresh/environments/staging/variables',
      payload: { set: { A: '1' }, redeploy: true },
    });
    expect(fresh.json()).toMatchObject({ set: ['A'], deployment: null });
    expectError(await api.request({ method: 'PATCH', url, payload: { redeploy: true } }), 422, 'validation_failed', 'body');
    expectError(
      await api.request({ method: 'PATCH', url, payload: { set: { C: '3' }, redeploy: 'yes' } }),
      422,
      'validation_failed',
      'body.redeploy',
    );
  });
});
