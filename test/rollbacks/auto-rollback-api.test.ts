import { createStores, type ReleaseRow, ReleaseWatchStore, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

/**
 * The api's side of automatic rollback, over real Postgres: the settings per
 * environment (bounds checked, the field named, nothing stored when refused;
 * shown with the defaults in force), a rolled-back release's reason in the
 * releases list and the status, and the refusal to promote such a release.
 */

let api: TestApi;
let stores: Stores;
const health = { path: '/health', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 };
const DEFAULTS = { enabled: true, windowSeconds: 300, errorRate: 0.25, minRequests: 20, restarts: 3 };

beforeAll(async () => {
  api = await createTestApi();
  stores = createStores(api.database.db, api.box);
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'arb' } })).statusCode).toBe(201);
});
afterAll(async () => api?.close());

const ENV = '/apps/arb/environments/staging';

async function storedSettings() {
  return api.database.sql`select enabled, window_seconds, error_rate, min_requests, restarts from auto_rollback_settings`;
}

describe('automatic rollback settings', () => {
  it('shows the defaults in force before anything is set', async () => {
    const res = await api.request({ method: 'GET', url: ENV });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().autoRollback).toEqual(DEFAULTS);
    const list = await api.request({ method: 'GET', url: '/apps/arb/environments' });
    expect(list.json().environments.map((e: { autoRollback: unknown }) => e.autoRollback)).toEqual([DEFAULTS, DEFAULTS]);
  });

  it('changes the settings given, keeps the others, and null puts a default back', async () => {
    const res = await api.request({
      method: 'PATCH',
      url: ENV,
      payload: { autoRollback: { windowSeconds: 60, errorRate: 0.5 } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().autoRollback).toEqual({ ...DEFAULTS, windowSeconds: 60, errorRate: 0.5 });
    const off = await api.request({ method: 'PATCH', url: ENV, payload: { autoRollback: { enabled: false, errorRate: null } } });
    expect(off.json().autoRollback).toEqual({ ...DEFAULTS, enabled: false, windowSeconds: 60 });
    expect((await api.request({ method: 'GET', url: ENV })).json().autoRollback).toEqual({
      ...DEFAULTS,
      enabled: false,
      windowSeconds: 60,
    });
    // Production keeps its own (the defaults).
    expect((await api.request({ method: 'GET', url: '/apps/arb/environments/production' })).json().autoRollback).toEqual(
      DEFAULTS,
    );
  });

  it.each<[string, unknown, string]>([
    ['a share above 1', { errorRate: 1.5 }, 'body.autoRollback.errorRate'],
    ['a share of 0', { errorRate: 0 }, 'body.autoRollback.errorRate'],
    ['a window under 10 s', { windowSeconds: 5 }, 'body.autoRollback.windowSeconds'],
    ['a window of more than an hour', { windowSeconds: 3601 }, 'body.autoRollback.windowSeconds'],
    ['a fractional request count', { minRequests: 2.5 }, 'body.autoRollback.minRequests'],
    ['no restarts', { restarts: 0 }, 'body.autoRollback.restarts'],
    ['a string for enabled', { enabled: 'yes' }, 'body.autoRollback.enabled'],
    ['an unknown setting', { errorRatio: 0.3 }, 'body.autoRollback'],
    ['nothing to change', {}, 'body.autoRollback'],
  ])('refuses %s, naming the field, and stores nothing', async (_name, autoRollback, field) => {
    const before = await storedSettings();
    const res = await api.request({ method: 'PATCH', url: ENV, payload: { autoRollback, replicas: 2 } });
    expectError(res, 422, 'validation_failed', field);
    expect(await storedSettings()).toEqual(before);
    expect((await api.request({ method: 'GET', url: ENV })).json().replicas).toBe(1);
  });
});

describe('a release rolled back on its own', () => {
  let v1: ReleaseRow;
  let v2: ReleaseRow;

  /** Makes `release` of staging live as a deployment does (enqueue, begin, succeed). */
  async function goLive(release: ReleaseRow, trigger: 'manual' | 'rollback'): Promise<void> {
    const env = await stores.environments.get(await appId(), 'staging');
    const deployment = await stores.deployments.enqueueRelease({
      appId: env.appId,
      environmentId: env.id,
      trigger,
      releaseId: release.id,
      imageId: release.imageId,
      commitSha: null,
    });
    const rollout = await stores.rollouts.begin({ environmentId: env.id, deploymentId: deployment.id, toReleaseId: release.id });
    await stores.rollouts.succeed(rollout?.id as string, [], 'live');
  }

  async function appId(): Promise<string> {
    const [row] = await api.database.sql<{ id: string }[]>`select id from apps where name = 'arb'`;
    return row?.id as string;
  }

  beforeAll(async () => {
    await api.request({ method: 'PATCH', url: ENV, payload: { autoRollback: { enabled: null } } });
    const env = await stores.environments.get(await appId(), 'staging');
    const make = (n: number) =>
      stores.releases.create({
        environmentId: env.id,
        imageId: `sha256:arb-${n}`,
        imageRef: `pier/arb:${n}`,
        config: {},
        configVersion: 0,
        replicas: 1,
        health,
      });
    v1 = await make(1);
    v2 = await make(2);
    await goLive(v1, 'manual');
    await goLive(v2, 'manual');
  });

  it('while watched: the status shows the watch, and the live release may be promoted', async () => {
    const status = (await api.request({ method: 'GET', url: `${ENV}/status` })).json();
    expect(status.watch).toMatchObject({ state: 'watching', reason: null, rollbackDeployment: null });
    expect(Date.parse(status.watch.until) - Date.parse(status.watch.startedAt)).toBe(60_000);
    expect(status.liveRelease).toMatchObject({ version: 2, rolledBack: null });
    expect(status.rolledBack).toBeNull();
  });

  it('refuses its promotion, naming the release and the reason, and shows the reason in the releases list and the status', async () => {
    const reason = 'release v2 answered 5xx to 75% of requests (15 of 20) within 40 s of going live; v1 answered 0%';
    expect(await new ReleaseWatchStore(api.database.db).decideRollback(v2.id, reason)).toBe(true);
    const before = await api.database.sql`select id from deployments`;

    // Still live (its rollback not through yet): the default promotion takes the live release, and is refused.
    const live = await api.request({
      method: 'POST',
      url: '/apps/arb/environments/production/promote',
      payload: { from: 'staging' },
    });
    expectError(live, 409, 'conflict', `release v2 of staging was rolled back automatically (${reason}); it is not promoted`);
    await goLive(v1, 'rollback');
    const named = await api.request({
      method: 'POST',
      url: '/apps/arb/environments/production/promote',
      payload: { from: 'staging', release: 2 },
    });
    expectError(named, 409, 'conflict', 'release v2 of staging was rolled back automatically');
    expect((await api.database.sql`select id from deployments`).length).toBe(before.length + 1); // only the rollback

    const releases = (await api.request({ method: 'GET', url: `${ENV}/releases` })).json().releases;
    expect(releases.map((r: { version: number; rolledBack: unknown }) => [r.version, r.rolledBack])).toEqual([
      [2, { at: expect.any(String), reason }],
      [1, null],
    ]);
    const status = (await api.request({ method: 'GET', url: `${ENV}/status` })).json();
    expect(status.liveRelease).toMatchObject({ version: 1, rolledBack: null });
    expect(status.watch).toBeNull(); // a rollback is not watched in turn
    expect(status.rolledBack).toMatchObject({ release: 2, reason });

    // The release it went back to is promoted as usual; an unknown version is 404.
    const ok = await api.request({
      method: 'POST',
      url: '/apps/arb/environments/production/promote',
      payload: { from: 'staging' },
    });
    expect(ok.statusCode, ok.body).toBe(202);
    const missing = await api.request({
      method: 'POST',
      url: '/apps/arb/environments/production/promote',
      payload: { from: 'staging', release: 9 },
    });
    expectError(missing, 404, 'not_found', 'release v9 of staging not found');
  });
});
