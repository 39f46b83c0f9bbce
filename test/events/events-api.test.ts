import { type CapacityCheck, EVENT_KINDS } from '@pier/core';
import { CapacityGuard, createStores, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

/**
 * The event log through the real API on a real Postgres: deployments recorded
 * by the stores every path goes through (queued, live, failed, rollback)
 * appear in order; quota refusals are recorded; paging, kinds, time ranges
 * and what an app token may see.
 */

let api: TestApi;
let stores: Stores;
let appId: string;
let environmentId: string;

interface EventView {
  id: number;
  at: string;
  kind: string;
  severity: string;
  app: string | null;
  env: string | null;
  message: string;
  data: Record<string, unknown>;
}

beforeAll(async () => {
  // The real guard over a host of 1 GiB with nothing reserved for the system: 2 more replicas of 512 MiB fit, 3 do not.
  let guard: CapacityGuard | undefined;
  const capacity: CapacityCheck = { check: (request) => (guard as CapacityGuard).check(request) };
  api = await createTestApi({
    quotas: { environments: 2, previews: 10, forkPreviews: 3, replicas: 10, domains: 50 },
    capacity,
  });
  stores = createStores(api.database.db, api.box);
  guard = new CapacityGuard({
    reservations: stores.reservations,
    host: async () => ({ memoryTotalBytes: 1024 ** 3, memoryAvailableBytes: 1024 ** 3, disks: [] }),
    policy: { reserveBytes: 0, overcommit: 1 },
    buildMemoryBytes: 0,
    events: stores.events,
  });
  for (const name of ['shop', 'other']) {
    const repository = { fullName: `acme/${name}`, cloneUrl: `https://git.example.invalid/acme/${name}.git` };
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name, repository } })).statusCode).toBe(201);
  }
  const [row] = await api.database.sql<{ app_id: string; id: string }[]>`
    select e.app_id, e.id from environments e join apps a on a.id = e.app_id where a.name = 'shop' and e.name = 'production'`;
  appId = row?.app_id ?? '';
  environmentId = row?.id ?? '';
}, 60_000);

afterAll(async () => api?.close());

async function events(url: string, token?: string): Promise<{ events: EventView[]; next: number | null }> {
  const res = await api.request({ method: 'GET', url, ...(token ? { token } : {}) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** A release of shop production, made live as the reconciler's switch does. */
async function liveRelease(image: string) {
  const release = await stores.releases.create({
    environmentId,
    imageId: image,
    imageRef: `pier/shop:${image}`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/health', intervalMs: 50, timeoutMs: 500, healthyThreshold: 1, deadlineMs: 1500 },
  });
  const deployment = await stores.deployments.enqueueRelease({
    appId,
    environmentId,
    trigger: 'manual',
    releaseId: release.id,
    imageId: image,
    commitSha: null,
  });
  const rollout = await stores.rollouts.begin({ environmentId, deploymentId: deployment.id, toReleaseId: release.id });
  if (!rollout) throw new Error('the rollout did not begin');
  await stores.rollouts.succeed(rollout.id, [], 'all replicas healthy; traffic switched');
  return { release, deployment };
}

describe('deployment events', () => {
  it('records queued, live, failed and rollback in the order they happened', async () => {
    const pushed = await api.request({ method: 'POST', url: '/apps/shop/environments/production/deployments', payload: {} });
    expect(pushed.statusCode, pushed.body).toBe(202);
    const pushedId = pushed.json().id as string;
    expect(await stores.deployments.claimBuild(pushedId)).toBe('claimed');
    const failed = await stores.deployments.transition(pushedId, ['building'], 'failed', {
      reason: 'the build failed: npm ERR! missing script',
      finishedAt: new Date(),
    });
    expect(failed).toBe(true);
    const first = await liveRelease('sha256:one');
    const second = await liveRelease('sha256:two');
    const rollback = await api.request({ method: 'POST', url: '/apps/shop/environments/production/rollback', payload: {} });
    expect(rollback.statusCode, rollback.body).toBe(202);

    const { events: shown } = await events('/apps/shop/events');
    const oldestFirst = shown.reverse();
    expect(oldestFirst.map((e) => e.kind)).toEqual([
      'deploy.queued',
      'deploy.failed',
      'deploy.queued',
      'deploy.live',
      'deploy.queued',
      'deploy.live',
      'deploy.rollback',
    ]);
    expect(oldestFirst.every((e) => e.app === 'shop' && e.env === 'production')).toBe(true);
    expect(oldestFirst[1]).toMatchObject({
      severity: 'critical',
      message: 'shop production: the manual deployment failed: the build failed: npm ERR! missing script',
      data: { deploymentId: pushedId, reason: 'the build failed: npm ERR! missing script' },
    });
    expect(oldestFirst[3]?.message).toBe(`shop production: v${first.release.version} is live (manual).`);
    expect(oldestFirst[5]?.data).toMatchObject({ deploymentId: second.deployment.id, release: second.release.version });
    expect(oldestFirst[6]).toMatchObject({
      severity: 'warning',
      message: `shop production: rollback from v${second.release.version} to v${first.release.version} queued.`,
      data: { from: second.release.version, to: first.release.version },
    });
  });

  it('pages newest first with before = next, filters by kind and time, and refuses bad input naming the field', async () => {
    const page = await events('/apps/shop/events?limit=3');
    expect(page.events.map((e) => e.kind)).toEqual(['deploy.rollback', 'deploy.live', 'deploy.queued']);
    expect(page.next).toBe(page.events[2]?.id);
    const rest = await events(`/apps/shop/events?limit=3&before=${page.next}`);
    expect(rest.events.every((e) => e.id < (page.next ?? 0))).toBe(true);
    expect(rest.events).toHaveLength(3);

    const live = await events('/apps/shop/events?kind=deploy.live,deploy.failed');
    expect(live.events.map((e) => e.kind)).toEqual(['deploy.live', 'deploy.live', 'deploy.failed']);
    const later = new Date(Date.now() + 60_000).toISOString();
    expect((await events(`/apps/shop/events?since=${encodeURIComponent(later)}`)).events).toEqual([]);
    const earlier = new Date(Date.now() - 60_000).toISOString();
    expect((await events(`/apps/shop/events?until=${encodeURIComponent(earlier)}`)).events).toEqual([]);

    const unknown = await api.request({ method: 'GET', url: '/apps/shop/events?kind=deploy.live,deploy.exploded' });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.message).toMatch(/^kind: deploy\.exploded is not a kind of event/);
    const inverted = await api.request({
      method: 'GET',
      url: `/events?since=${encodeURIComponent(later)}&until=${encodeURIComponent(earlier)}`,
    });
    expect(inverted.statusCode).toBe(422);
    expect(inverted.json().error.message).toMatch(/^since: must be before until/);
    const tooMany = await api.request({ method: 'GET', url: '/events?limit=201' });
    expect(tooMany.statusCode).toBe(422);
    expect(tooMany.json().error.message).toContain('limit');
  });
});

describe('GET /events/kinds', () => {
  it("lists every kind of core's with its severity and scope, to any token", async () => {
    const res = await api.request({ method: 'GET', url: '/events/kinds' });
    expect(res.statusCode).toBe(200);
    const kinds = res.json().kinds as { kind: string; severity: string; scope: string }[];
    expect(kinds.map((k) => k.kind).sort()).toEqual(Object.keys(EVENT_KINDS).sort());
    expect(kinds).toContainEqual({ kind: 'deploy.failed', severity: 'critical', scope: 'app' });
    expect(kinds).toContainEqual({ kind: 'host.disk', severity: 'critical', scope: 'host' });
    expect((await api.request({ method: 'GET', url: '/events/kinds', token: null })).statusCode).toBe(401);
  });
});

describe('refusals and scopes', () => {
  it('records a quota refusal in the app event log, with the refusal it answered', async () => {
    // production and staging: the quota of 2 environments is reached.
    const res = await api.request({ method: 'POST', url: '/apps/other/environments', payload: { name: 'qa' } });
    expect(res.statusCode, res.body).toBe(409);
    // A client retrying in a loop: one event a minute per app and reason (two if a minute turned meanwhile).
    for (let i = 0; i < 4; i++) {
      const again = await api.request({ method: 'POST', url: '/apps/other/environments', payload: { name: 'qa' } });
      expect(again.statusCode).toBe(409);
    }
    const { events: shown } = await events('/apps/other/events?kind=quota.refused');
    expect(shown.length).toBeLessThanOrEqual(2);
    shown.splice(1);
    expect(shown[0]).toMatchObject({ app: 'other', env: null, severity: 'warning' });
    expect(shown[0]?.message).toBe(`other: refused for a quota: ${res.json().error.message}`);
  });

  it("records a refusal for the host's capacity in the app event log", async () => {
    const res = await api.request({ method: 'PATCH', url: '/apps/shop/environments/staging', payload: { replicas: 4 } });
    expect(res.statusCode, res.body).toBe(409);
    for (let i = 0; i < 4; i++) {
      const again = await api.request({ method: 'PATCH', url: '/apps/shop/environments/staging', payload: { replicas: 4 } });
      expect(again.statusCode).toBe(409);
    }
    const { events: shown } = await events('/apps/shop/events?kind=capacity.refused');
    expect(shown.length).toBeLessThanOrEqual(2);
    shown.splice(1);
    expect(shown[0]).toMatchObject({ app: 'shop', env: 'staging', severity: 'warning', data: { request: 'scale' } });
    expect(res.json().error.message).toContain(String(shown[0]?.data.reason));
    expect(shown[0]?.message).toMatch(/^Refused for the host's capacity: scaling web of shop-staging from 1 to 4 replicas/);
  });

  it("an admin sees every app's and the host's events; an app token only its app's", async () => {
    await stores.events.record({ kind: 'host.disk', message: 'disk / is 95% full (threshold 90%).' });
    const all = await events('/events');
    expect(new Set(all.events.map((e) => e.app))).toEqual(new Set(['shop', 'other', null]));
    const host = await events('/events?scope=host');
    expect(host.events.map((e) => e.kind)).toEqual(['host.disk']);
    expect((await events('/events?app=other')).events.map((e) => e.kind)).toEqual(['quota.refused']);

    const token = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci', app: 'other' } })).json().token;
    expect(token).toBeTypeOf('string');
    const mine = await events('/events', token);
    expect(mine.events.map((e) => e.app)).toEqual(['other']);
    expect((await api.request({ method: 'GET', url: '/apps/shop/events', token })).statusCode).toBe(404);
    expect((await api.request({ method: 'GET', url: '/events?scope=host', token })).statusCode).toBe(403);
  });
});
