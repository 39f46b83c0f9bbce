import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, PostgresRouteSource, schema } from '@pier/db';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { makeLive } from '../support/live-release.ts';

/**
 * What the proxy learns from Postgres about an environment whose replicas
 * are being swapped: its route stays (so the proxy holds rather than
 * answering 404) with no upstream and `hold`, while a rollout is under way
 * and its web process mounts a single-writer volume (the old replica is
 * stopped before the new one starts); other rollouts start the new first.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.destroy());

it('keeps the route of a live environment with no serving replica, marked hold while a single-writer web rollout is active', async () => {
  const stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const source = new PostgresRouteSource(database.db, database.sql, 'pier.test');
  const app = await stores.apps.create({ name: 'files', webhookSecret: 'x'.repeat(40) });
  const env = await stores.environments.get(app.id, 'production');
  const health = { path: null, intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 };
  const release = { environmentId: env.id, imageRef: 'pier/files:1', config: {}, configVersion: 0, replicas: 1, health };
  const v1 = await stores.releases.create({ ...release, imageId: 'sha256:one' });
  const old = await stores.replicas.add(env.id, v1.id, 'pier-files-production-old');
  await stores.replicas.attach(old.id, 'container-old', { host: '127.0.0.1', port: 40001 });
  await makeLive(database.db, env.id, v1.id, [old.id]);
  expect(await source.load()).toEqual([expect.objectContaining({ upstreams: [expect.objectContaining({ id: old.id })] })]);
  expect((await source.load())[0]?.hold).toBeUndefined();

  // A rollout to v2 of a web process with no single-writer volume starts the new replicas first: no hold.
  const v2 = await stores.releases.create({ ...release, imageId: 'sha256:two' });
  await stores.rollouts.begin({ environmentId: env.id, deploymentId: null, toReleaseId: v2.id });
  await stores.replicas.drain([old.id]);
  expect((await source.load())[0]?.hold).toBeUndefined();
  // Nor with a shared volume, or a single-writer volume of another process type.
  const owner = { environmentId: env.id, app: 'files', env: 'production' };
  await stores.volumes.create(owner, { name: 'cache', mountPath: '/cache', processTypes: ['web'], shared: true });
  await stores.volumes.create(owner, { name: 'jobs', mountPath: '/jobs', processTypes: ['worker'], shared: false });
  expect((await source.load())[0]?.hold).toBeUndefined();

  // Web mounts a single-writer volume: the old replica stops before the new one starts; the route stays, marked hold.
  const data = await stores.volumes.create(owner, { name: 'data', mountPath: '/data', processTypes: ['web'], shared: false });
  const [swapping] = await source.load();
  expect(swapping).toMatchObject({ app: 'files', env: 'production', upstreams: [], hold: true });
  // A volume being deleted no longer counts.
  await stores.volumes.requestDelete(data, { deleteData: false });
  expect((await source.load())[0]?.hold).toBeUndefined();
  await stores.volumes.create(owner, { name: 'data', mountPath: '/data', processTypes: ['web'], shared: false });
  expect((await source.load())[0]?.hold).toBe(true);

  // The rollout ends (here: given up): no hold any more, the route still there.
  await database.db.update(schema.rollouts).set({ state: 'failed' });
  const [after] = await source.load();
  expect(after).toMatchObject({ upstreams: [] });
  expect(after?.hold).toBeUndefined();
});
