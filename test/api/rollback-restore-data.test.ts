import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { makeLive } from '../support/live-release.ts';

/**
 * Who may take a database back with `rollback { restoreData }`: an app token
 * restores only a database of its own environment that no other app uses; a
 * database shared with another app needs an admin token; a database no longer
 * linked is refused. Nothing is queued when refused. No worker runs: the
 * restore and the rollback are only recorded.
 */

let api: TestApi;
let appToken: string;
let backupId: string;

async function restoreOperations(): Promise<number> {
  const [row] = await api.database.sql<{ n: number }[]>`select count(*)::int as n from service_operations where kind = 'restore'`;
  return row?.n ?? 0;
}

const rollback = (token?: string) =>
  api.request({
    method: 'POST',
    url: '/apps/shop/environments/staging/rollback',
    payload: { release: 1, restoreData: true },
    ...(token ? { token } : {}),
  });

beforeAll(async () => {
  api = await createTestApi();
  const stores = createStores(api.database.db, api.box);
  for (const name of ['shop', 'blog'])
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  appToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'shop deploys', app: 'shop' } })).json().token;
  expect(
    (await api.request({ method: 'POST', url: '/services', payload: { type: 'postgres', name: 'orders' } })).statusCode,
  ).toBe(202);
  await api.database.sql`update managed_services set state = 'ready' where name = 'orders'`;
  expect(
    (await api.request({ method: 'POST', url: '/apps/shop/environments/staging/links', payload: { service: 'orders' } }))
      .statusCode,
  ).toBe(201);
  // v1, then v2 whose release command was preceded by a verified backup of `orders`.
  const staging = await stores.environments.get((await stores.apps.get({ role: 'admin', tokenId: null }, 'shop')).id, 'staging');
  const service = await stores.services.get('orders');
  const backup = await stores.serviceOperations.requestBackup(service, 'release');
  backupId = backup?.id as string;
  await api.database.sql`update service_backups set state = 'good' where id = ${backupId}`;
  const release = (version: number) =>
    stores.releases.create({
      environmentId: staging.id,
      imageId: `sha256:${String(version).repeat(64)}`,
      imageRef: `pier/shop:v${version}`,
      config: {},
      configVersion: 0,
      replicas: 1,
      health: { path: null, intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
    });
  await release(1);
  const v2 = await release(2);
  await stores.releases.setBackup(v2.id, backupId);
  await makeLive(api.database.db, staging.id, v2.id, []);
});

afterAll(async () => api?.close());

describe('rollback { restoreData }', () => {
  it('a database shared with another app is restored only with an admin token', async () => {
    expect(
      (await api.request({ method: 'POST', url: '/apps/blog/environments/production/links', payload: { service: 'orders' } }))
        .statusCode,
    ).toBe(201);
    const refused = await rollback(appToken);
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json().error.message).toBe(
      'restoreData: orders is also linked to blog/production; only an admin token may restore it',
    );
    expect(await restoreOperations()).toBe(0);
    expect((await api.request({ method: 'DELETE', url: '/apps/blog/environments/production/links/orders' })).statusCode).toBe(
      200,
    );
  });

  it('an app token restores its own environment’s database, with the rollback', async () => {
    const res = await rollback(appToken);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().restore).toEqual({ backup: backupId, service: 'orders', takenBefore: 2 });
    expect(await restoreOperations()).toBe(1);
  });

  it('a database no longer linked to the environment is refused', async () => {
    expect((await api.request({ method: 'DELETE', url: '/apps/shop/environments/staging/links/orders' })).statusCode).toBe(200);
    const res = await rollback();
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error.message).toContain('restoreData: orders is no longer linked to staging');
    expect(await restoreOperations()).toBe(1);
  });
});
