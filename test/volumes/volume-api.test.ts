import type { Principal } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';
import { makeLive } from '../support/live-release.ts';

/**
 * The volume API on a real database: what is stored, the redeploy that makes
 * replicas mount it, what the worker is asked to do, and bad input refused
 * with the field named and nothing stored.
 */

let api: TestApi;
let stores: ReturnType<typeof createStores>;
const ADMIN: Principal = { role: 'admin', tokenId: null };
const COMMIT = 'd'.repeat(40);

beforeAll(async () => {
  api = await createTestApi();
  stores = createStores(api.database.db, api.box);
  for (const name of ['files', 'other', 'idle']) {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  }
  const app = await stores.apps.get(ADMIN, 'files');
  const env = await stores.environments.get(app.id, 'production');
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: 'sha256:files-live',
    imageRef: `pier/files:${COMMIT}`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
  });
  await makeLive(api.database.db, env.id, release.id, []);
});
afterAll(async () => api?.close());

const URL = '/apps/files/environments/production/volumes';

describe('creating and listing volumes', () => {
  it('creates a single-writer web volume by default and redeploys the running image to mount it', async () => {
    const res = await api.request({ method: 'POST', url: URL, payload: { name: 'data', mountPath: '/data' } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'data',
      mountPath: '/data',
      processTypes: ['web'],
      shared: false,
      sizeBytes: null,
      lastBackup: null,
      redeploy: true,
      deployment: { trigger: 'config', state: 'deploying', commit: COMMIT, image: { id: 'sha256:files-live' } },
    });
    expect(body.dockerVolume).toMatch(/^pier-vol-files-production-data-[0-9a-f]{6}$/);

    const env = await stores.environments.get((await stores.apps.get(ADMIN, 'files')).id, 'production');
    expect(await stores.volumes.mounts(env.id, 'web')).toEqual({ [body.dockerVolume]: '/data' });
    expect(await stores.volumes.mounts(env.id, 'worker')).toEqual({});
    expect(await stores.volumes.singleWriterTypes(env.id)).toEqual(['web']);
  });

  it('a shared volume of chosen types is no single-writer; nothing deployed: no redeploy', async () => {
    const shared = await api.request({
      method: 'POST',
      url: URL,
      payload: { name: 'cache', mountPath: '/var/cache/app', processTypes: ['web', 'worker'], shared: true },
    });
    expect(shared.json()).toMatchObject({ processTypes: ['web', 'worker'], shared: true, redeploy: true });
    const idle = await api.request({
      method: 'POST',
      url: '/apps/idle/environments/production/volumes',
      payload: { name: 'data', mountPath: '/data' },
    });
    expect(idle.statusCode).toBe(201);
    expect(idle.json()).toMatchObject({ redeploy: false, deployment: null });

    const env = await stores.environments.get((await stores.apps.get(ADMIN, 'files')).id, 'production');
    expect(await stores.volumes.singleWriterTypes(env.id)).toEqual(['web']);
    expect(Object.values(await stores.volumes.mounts(env.id, 'worker'))).toEqual(['/var/cache/app']);
    const listed = (await api.request({ method: 'GET', url: URL })).json();
    expect(listed.volumes.map((v: { name: string }) => v.name)).toEqual(['cache', 'data']);
  });

  it('refuses a taken name and a mount path that overlaps another volume of the same types (409)', async () => {
    expectError(
      await api.request({ method: 'POST', url: URL, payload: { name: 'data', mountPath: '/elsewhere' } }),
      409,
      'conflict',
      'data',
    );
    expectError(
      await api.request({ method: 'POST', url: URL, payload: { name: 'more', mountPath: '/data' } }),
      409,
      'conflict',
      'body.mountPath',
    );
    expectError(
      await api.request({ method: 'POST', url: URL, payload: { name: 'inner', mountPath: '/data/inner' } }),
      409,
      'conflict',
      'body.mountPath',
    );
    // Another type's replicas never see /data: no clash.
    const worker = await api.request({
      method: 'POST',
      url: URL,
      payload: { name: 'jobs', mountPath: '/data', processTypes: ['worker'] },
    });
    expect(worker.statusCode).toBe(201);
  });

  it('PATCH moves a volume or changes its types (redeploying), with the same checks as POST', async () => {
    expectError(
      await api.request({ method: 'PATCH', url: `${URL}/jobs`, payload: { processTypes: ['web', 'worker'], shared: true } }),
      409,
      'conflict',
      'body.mountPath',
    );
    expectError(await api.request({ method: 'PATCH', url: `${URL}/jobs`, payload: {} }), 422, 'validation_failed', 'body');
    expectError(
      await api.request({ method: 'PATCH', url: `${URL}/jobs`, payload: { mountPath: '/proc/x' } }),
      422,
      'validation_failed',
      'body.mountPath',
    );
    const moved = await api.request({
      method: 'PATCH',
      url: `${URL}/jobs`,
      payload: { mountPath: '/jobs', processTypes: ['web', 'worker'], shared: true },
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({
      name: 'jobs',
      mountPath: '/jobs',
      processTypes: ['web', 'worker'],
      shared: true,
      redeploy: true,
    });
    const env = await stores.environments.get((await stores.apps.get(ADMIN, 'files')).id, 'production');
    expect(Object.values(await stores.volumes.mounts(env.id, 'web')).sort()).toEqual(['/data', '/jobs', '/var/cache/app']);
  });

  it('an app token reaches only its own app’s volumes', async () => {
    const token = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'other ci', app: 'other' } })).json()
      .token;
    const foreign = await api.request({ method: 'GET', url: URL, token });
    expect(foreign.statusCode).toBe(404);
    const own = await api.request({
      method: 'POST',
      url: '/apps/other/environments/production/volumes',
      payload: { name: 'data', mountPath: '/data' },
      token,
    });
    expect(own.statusCode).toBe(201);
  });
});

describe('a single-writer volume has one writer', () => {
  const OTHER = '/apps/other/environments/production/volumes';

  it('refuses one mounted by several process types (422 naming body.processTypes), on POST and PATCH', async () => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({
      method: 'POST',
      url: OTHER,
      payload: { name: 'pair', mountPath: '/pair', processTypes: ['web', 'worker'] },
    });
    expectError(res, 422, 'validation_failed', 'body.processTypes');
    expect(res.json().error.message).toContain('set shared: true to mount it in several');
    expect(await snapshotState(api.database.sql)).toEqual(before);
    expectError(
      await api.request({ method: 'PATCH', url: `${OTHER}/data`, payload: { processTypes: ['web', 'worker'] } }),
      422,
      'validation_failed',
      'body.processTypes',
    );
    const shared = await api.request({ method: 'PATCH', url: `${URL}/jobs`, payload: { shared: false } });
    expectError(shared, 422, 'validation_failed', 'body.processTypes'); // jobs is shared by web and worker
  });

  it('refuses one whose process type runs more than one replica now (409 naming body.shared)', async () => {
    const app = await stores.apps.get(ADMIN, 'other');
    const env = await stores.environments.get(app.id, 'production');
    await stores.processes.set(env.id, 'worker', { replicas: 3 });
    await api.database.sql`update environments set replicas = 2 where id = ${env.id}`;
    try {
      expectError(
        await api.request({ method: 'POST', url: OTHER, payload: { name: 'webby', mountPath: '/w' } }),
        409,
        'conflict',
        'body.shared',
      );
      expectError(
        await api.request({ method: 'POST', url: OTHER, payload: { name: 'q', mountPath: '/q', processTypes: ['worker'] } }),
        409,
        'conflict',
        'body.shared',
      );
      expectError(
        await api.request({ method: 'PATCH', url: `${OTHER}/data`, payload: { processTypes: ['worker'] } }),
        409,
        'conflict',
        'body.shared',
      );
      // Shared, or a type with one replica (no processes row: 1), is fine.
      const ok = await api.request({
        method: 'POST',
        url: OTHER,
        payload: { name: 'q', mountPath: '/q', processTypes: ['worker'], shared: true },
      });
      expect(ok.statusCode).toBe(201);
      const clock = await api.request({
        method: 'POST',
        url: OTHER,
        payload: { name: 'c', mountPath: '/c', processTypes: ['clock'] },
      });
      expect(clock.statusCode).toBe(201);
    } finally {
      await api.database.sql`update environments set replicas = 1 where id = ${env.id}`;
    }
  });

  it('a volume a restore is still filling cannot be mounted yet (409)', async () => {
    const app = await stores.apps.get(ADMIN, 'other');
    const env = await stores.environments.get(app.id, 'production');
    const source = await stores.volumes.get(env.id, 'data');
    const backup = (await stores.volumeOperations.requestBackup(source, 'manual'))?.backup;
    await stores.volumeOperations.updateBackup(backup?.id as string, { state: 'good', verification: { files: 0, bytes: 0 } });
    const restore = await api.request({
      method: 'POST',
      url: `${OTHER}/data/restore`,
      payload: { backupId: backup?.id, into: 'copy' },
    });
    expect(restore.statusCode).toBe(202);
    expectError(
      await api.request({ method: 'PATCH', url: `${OTHER}/copy`, payload: { processTypes: ['web'] } }),
      409,
      'conflict',
      'restore',
    );
    await api.database.sql`update volume_operations set state = 'done' where id = ${restore.json().operation.id}`;
    const mounted = await api.request({ method: 'PATCH', url: `${OTHER}/copy`, payload: { processTypes: ['clock'] } });
    expect(mounted.statusCode).toBe(200);
  });
});

describe('bad input', () => {
  const cases: { payload: unknown; field: string }[] = [
    { payload: { name: 'Data', mountPath: '/x' }, field: 'body.name' },
    { payload: { name: 'a'.repeat(41), mountPath: '/x' }, field: 'body.name' },
    { payload: { name: 'a;id', mountPath: '/x' }, field: 'body.name' },
    { payload: { mountPath: '/x' }, field: 'body.name' },
    { payload: { name: 'v', mountPath: 'data' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/proc' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/proc/x' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/sys' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/dev/shm' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/etc' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/usr' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/data/../etc' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/data/' }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: `/${'a'.repeat(200)}` }, field: 'body.mountPath' },
    { payload: { name: 'v', mountPath: '/x', processTypes: ['Web'] }, field: 'body.processTypes' },
    { payload: { name: 'v', mountPath: '/x', processTypes: [] }, field: 'body.processTypes' },
    { payload: { name: 'v', mountPath: '/x', processTypes: 'web' }, field: 'body.processTypes' },
    { payload: { name: 'v', mountPath: '/x', shared: 'yes' }, field: 'body.shared' },
    { payload: { name: 'v', mountPath: '/x', size: 5 }, field: 'size' },
  ];

  it.each(cases)('$field: $payload is refused naming the field, nothing stored', async ({ payload, field }) => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'POST', url: URL, payload: payload as object });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json().error.message).toContain(field);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('a restore names a backup of this volume that is good', async () => {
    const other = await api.request({ method: 'POST', url: `${URL}/data/restore`, payload: { backupId: 'nope' } });
    expect(other.statusCode).toBe(422);
    expect(other.json().error.message).toContain('body.backupId');
    const missing = await api.request({
      method: 'POST',
      url: `${URL}/data/restore`,
      payload: { backupId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(missing.statusCode).toBe(404);
    const stray = await api.request({
      method: 'POST',
      url: `${URL}/data/restore`,
      payload: { backupId: '00000000-0000-4000-8000-000000000000', mountPath: '/x' },
    });
    expectError(stray, 422, 'validation_failed', 'mountPath');
  });
});

describe('backups and deletion', () => {
  it('a backup now queues a backup and its operation; a restore of an unfinished backup is refused', async () => {
    const res = await api.request({ method: 'POST', url: `${URL}/data/backups` });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ volume: 'data', trigger: 'manual', state: 'pending' });
    const [op] = await api.database.sql`select kind, state, backup_id from volume_operations where backup_id = ${res.json().id}`;
    expect(op).toEqual({ kind: 'backup', state: 'pending', backup_id: res.json().id });
    const listed = (await api.request({ method: 'GET', url: `${URL}/data/backups` })).json();
    expect(listed.backups.map((b: { id: string }) => b.id)).toEqual([res.json().id]);
    expectError(
      await api.request({ method: 'POST', url: `${URL}/data/restore`, payload: { backupId: res.json().id, into: 'copy' } }),
      409,
      'conflict',
      'pending',
    );
  });

  it('DELETE detaches the volume (its name is free again) and keeps the data unless deleteData', async () => {
    const kept = await api.request({ method: 'DELETE', url: `${URL}/cache` });
    expect(kept.statusCode).toBe(202);
    expect(kept.json()).toMatchObject({ volume: 'cache', deleteData: false, redeploy: true });
    expect(kept.json().message).toContain(`docker volume rm ${kept.json().dockerVolume}`);
    const names = (await api.request({ method: 'GET', url: URL })).json().volumes.map((v: { name: string }) => v.name);
    expect(names).not.toContain('cache');
    const [op] = await api.database.sql`select kind, options from volume_operations where kind = 'delete'`;
    expect(op).toEqual({ kind: 'delete', options: { deleteData: false } });

    const again = await api.request({ method: 'POST', url: URL, payload: { name: 'cache', mountPath: '/var/cache/app' } });
    expect(again.statusCode).toBe(201);
    expect(again.json().dockerVolume).not.toBe(kept.json().dockerVolume);

    const gone = await api.request({ method: 'DELETE', url: `${URL}/cache?deleteData=true` });
    expect(gone.json()).toMatchObject({ deleteData: true });
    expectError(await api.request({ method: 'DELETE', url: `${URL}/cache` }), 404, 'not_found', 'cache');
  });
});
