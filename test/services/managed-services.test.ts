import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { serviceApp } from '../support/service-app.ts';
import { backupFinished, operationFinished, serviceReaches } from '../support/services.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Issue 5's managed services end to end: real Postgres and Redis containers
 * from the pier-local images, an app that links them and is reached through
 * the real proxy process, backups verified by restoring them, promotion.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let proxy: TestProxy;
let scratch: string;
let backupDirectory: string;
let secret: string;
const run = Date.now().toString(36);
const app = `msvc-${run}`;
const db = `db-${run}`;
const cache = `cache-${run}`;

beforeAll(async () => {
  api = await createTestApi();
  scratch = mkdtempSync(join(tmpdir(), 'pier-services-'));
  backupDirectory = join(scratch, 'backups');
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000, backupDirectory });
  repo = new TestGitRepository();
  secret = await createFastApp(api, {
    name: app,
    fullName: 'acme/services',
    cloneUrl: repo.url,
    replicas: 1,
    drainTimeoutMs: 500,
  });
  proxy = await startTestProxy(api.database.url);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    await worker.docker.removeNetwork(`pier-${app}-production`).catch(() => {});
    for (const c of await worker.docker.listContainers({ 'pier.app': '@services', 'pier.instance': worker.prefix }))
      await worker.docker.removeContainer(c.id).catch(() => {});
    for (const name of [db, cache, `${db}-copy`]) await worker.docker.removeNetwork(`pier-svc-${name}`).catch(() => {});
    for (const volume of await worker.docker.docker
      .listVolumes({ filters: { label: ['pier.app=@services'] } })
      .then((v) => v.Volumes ?? []))
      if (volume.Name.startsWith('pier-svc-') && volume.Name.includes(run))
        await worker.docker.removeVolume(volume.Name).catch(() => {});
  }
  await api?.close();
  repo?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 120_000);

/** GET through the proxy with a Host header. */
const viaProxy = (host: string, path: string) => getViaProxy(proxy.httpPort, host, path, 15_000);

const stagingHost = `${app}-staging.pier.test`;
const productionHost = `${app}.pier.test`;
const staging = (path: string) => viaProxy(stagingHost, path);

const waitForService = (name: string, state = 'ready') => serviceReaches(api, name, state);
const waitForBackup = (service: string, id: string) => backupFinished(api, service, id);
const waitForOperation = (service: string, id: string) => operationFinished(api, service, id);

/** Polls a request through the proxy until its body matches. */
async function eventuallyServes(host: string, path: string, expected: string | RegExp, timeout = 60_000) {
  await expect
    .poll(async () => (await viaProxy(host, path).catch((e: Error) => ({ status: 0, body: e.message }))).body, {
      timeout,
      interval: 500,
    })
    .toMatch(expected);
}

async function redeployed(res: { statusCode: number; json(): { deployment: { id: string } | null } }) {
  expect(res.statusCode).toBeLessThan(300);
  const deployment = res.json().deployment;
  expect(deployment).not.toBeNull();
  const done = await waitForDeployment(api, deployment?.id as string, ['live', 'failed'], 120_000);
  expect(done.reason).toBeNull();
  expect(done.state).toBe('live');
}

describe('managed Postgres and Redis, linked and injected', () => {
  it('creates both services; each is ready once it accepts authenticated connections, and publishes nothing', async () => {
    for (const [type, name] of [
      ['postgres', db],
      ['redis', cache],
    ]) {
      const res = await api.request({ method: 'POST', url: '/services', payload: { type, name } });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ name, type, state: 'provisioning', connection: { revealed: false } });
    }
    await waitForService(db);
    await waitForService(cache);
    const shown = (await api.request({ method: 'GET', url: `/services/${db}?reveal=true` })).json();
    expect(shown.connection.password).toHaveLength(32);
    // Every generated password has characters a URL must encode: the app below proves they are encoded right.
    expect(encodeURIComponent(shown.connection.password)).not.toBe(shown.connection.password);
    expect(shown.connection.url).toContain(encodeURIComponent(shown.connection.password));
    for (const name of [db, cache]) {
      const [container] = await worker.docker.listContainers({ 'pier.service': name });
      const inspected = await worker.docker.docker.getContainer(container?.id as string).inspect();
      expect(inspected.HostConfig.PortBindings ?? {}).toEqual({});
      expect(Object.keys(inspected.NetworkSettings.Networks)).toEqual([`pier-svc-${name}`]);
    }
    // The password is nowhere in the logs.
    expect(api.logs.join('\n')).not.toContain(shown.connection.password);
    expect(worker.logs.join('\n')).not.toContain(shown.connection.password);
  }, 240_000);

  it('a linked app reads DATABASE_URL and REDIS_URL, writes and reads back through the proxy', async () => {
    const sha = repo.commit(serviceApp(), 'service app');
    repo.push();
    const push = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload('acme/services', 'refs/heads/main', sha),
      secret,
    });
    const first = await waitForDeployment(api, push.json().deployments[0].id, ['live', 'failed'], 180_000);
    expect(first.state).toBe('live');
    await eventuallyServes(stagingHost, '/env', /^$/);

    await redeployed(
      await api.request({ method: 'POST', url: `/apps/${app}/environments/staging/links`, payload: { service: db } }),
    );
    await redeployed(
      await api.request({ method: 'POST', url: `/apps/${app}/environments/staging/links`, payload: { service: cache } }),
    );
    await eventuallyServes(stagingHost, '/env', 'DATABASE_URL,REDIS_URL');
    expect((await staging('/pg/write?v=first')).body).toBe('written');
    expect((await staging('/pg/write?v=second')).body).toBe('written');
    expect((await staging('/pg/read')).body).toBe('first,second');
    expect((await staging('/redis/set?k=greeting&v=hello')).body).toBe('OK');
    expect((await staging('/redis/get?k=greeting')).body).toBe('hello');

    const links = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/links` })).json().links;
    expect(links.map((l: { service: string; variable: string }) => [l.service, l.variable])).toEqual([
      [db, 'DATABASE_URL'],
      [cache, 'REDIS_URL'],
    ]);
    // A variable named like an injected one is refused, naming the field.
    const clash = await api.request({
      method: 'PATCH',
      url: `/apps/${app}/environments/staging/variables`,
      payload: { set: { DATABASE_URL: 'postgres://elsewhere' } },
    });
    expect(clash.statusCode).toBe(422);
    expect(clash.json().error.message).toContain('DATABASE_URL is injected by the linked service');
  }, 400_000);

  it('data survives a restart and a re-creation of the service containers', async () => {
    for (const name of [db, cache]) {
      const [container] = await worker.docker.listContainers({ 'pier.service': name });
      await worker.docker.docker.getContainer(container?.id as string).restart({ t: 10 });
    }
    await eventuallyServes(stagingHost, '/pg/read', 'first,second');
    await eventuallyServes(stagingHost, '/redis/get?k=greeting', 'hello');

    // Gone altogether: the worker notices and makes a new container on the same volume.
    const before = await worker.docker.listContainers({ 'pier.service': db });
    await worker.docker.removeContainer(before[0]?.id as string);
    // A new container runs (so the re-creation has begun and the service is no longer `ready` until it answers).
    await expect
      .poll(
        async () =>
          (await worker.docker.listContainers({ 'pier.service': db })).some(
            (c) => c.status === 'running' && c.id !== before[0]?.id,
          ),
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true);
    await waitForService(db);
    await eventuallyServes(stagingHost, '/pg/read', 'first,second');
  }, 240_000);

  it('backup → drop table → restore brings the rows back; the backup was verified by a scratch restore', async () => {
    const res = await api.request({ method: 'POST', url: `/services/${db}/backups` });
    expect(res.statusCode, res.body).toBe(202);
    const backup = await waitForBackup(db, res.json().id);
    expect(backup.error).toBeNull();
    expect(backup.state).toBe('good');
    expect(backup.verification).toMatchObject({
      expected: { tables: { 'public.items': 2 } },
      found: { tables: { 'public.items': 2 } },
    });
    // No scratch container is left behind.
    expect(await worker.docker.listContainers({ 'pier.role': 'backup-verify', 'pier.instance': worker.prefix })).toEqual([]);

    expect((await staging('/pg/drop')).body).toBe('dropped');
    expect((await staging('/pg/read')).body).toMatch(/error: .*items/);
    const restore = await api.request({ method: 'POST', url: `/services/${db}/backups/${res.json().id}/restore`, payload: {} });
    expect(restore.statusCode).toBe(202);
    const op = await waitForOperation(db, restore.json().operation.id);
    expect(op.error).toBeNull();
    expect(op.state).toBe('done');
    expect((await staging('/pg/read')).body).toBe('first,second');

    // Into a new service: created for it, provisioned, then restored; its own backup finds the same rows.
    const copy = `${db}-copy`;
    const into = await api.request({
      method: 'POST',
      url: `/services/${db}/backups/${res.json().id}/restore`,
      payload: { into: copy },
    });
    expect(into.statusCode).toBe(202);
    expect(into.json().service).toBe(copy);
    const restored = await waitForOperation(copy, into.json().operation.id);
    expect(restored.error).toBeNull();
    const check = await api.request({ method: 'POST', url: `/services/${copy}/backups` });
    const copied = await waitForBackup(copy, check.json().id);
    expect(copied.verification).toMatchObject({ expected: { tables: { 'public.items': 2 } } });
    expect((await api.request({ method: 'DELETE', url: `/services/${copy}?deleteData=true` })).statusCode).toBe(202);
  }, 300_000);

  it('a corrupted backup file is reported failed by verification', async () => {
    const res = await api.request({ method: 'POST', url: `/services/${db}/backups` });
    expect(res.statusCode, res.body).toBe(202);
    const good = await waitForBackup(db, res.json().id);
    expect(good.state).toBe('good');
    const path = join(backupDirectory, good.file);
    const bytes = readFileSync(path);
    bytes.fill(0x41, Math.floor(bytes.length / 3), Math.floor(bytes.length / 3) + 64);
    writeFileSync(path, bytes);
    const verify = await api.request({ method: 'POST', url: `/services/${db}/backups/${res.json().id}/verify` });
    expect(verify.statusCode).toBe(202);
    await expect
      .poll(async () => (await api.request({ method: 'GET', url: `/services/${db}/backups/${res.json().id}` })).json().state, {
        timeout: 120_000,
        interval: 500,
      })
      .toBe('failed');
    const failed = (await api.request({ method: 'GET', url: `/services/${db}/backups/${res.json().id}` })).json();
    // Both checks catch it: the checksum, and the restore into a scratch Postgres.
    expect(failed.error).toContain('SHA-256 differs');
    expect(failed.error).toMatch(/restoring into a scratch postgres failed|table public\.items/);
    // A failed backup is never restored.
    const refused = await api.request({ method: 'POST', url: `/services/${db}/backups/${res.json().id}/restore`, payload: {} });
    expect(refused.statusCode).toBe(409);
  }, 240_000);

  it('a Redis backup is an RDB copy checked by redis-check-rdb, and restores', async () => {
    const res = await api.request({ method: 'POST', url: `/services/${cache}/backups` });
    const backup = await waitForBackup(cache, res.json().id);
    expect(backup.error).toBeNull();
    expect(backup.state).toBe('good');
    expect(backup.file).toMatch(/\.rdb$/);
    expect(backup.verification).toMatchObject({ expected: { keys: 1 }, found: { keys: 1 } });

    // Restored: Redis restarts on the backup's data, and the linked app sees it.
    expect((await staging('/redis/set?k=greeting&v=changed')).body).toBe('OK');
    const restore = await api.request({
      method: 'POST',
      url: `/services/${cache}/backups/${res.json().id}/restore`,
      payload: {},
    });
    expect(restore.statusCode).toBe(202);
    const op = await waitForOperation(cache, restore.json().operation.id);
    expect(op.error).toBeNull();
    await eventuallyServes(stagingHost, '/redis/get?k=greeting', 'hello');
  }, 180_000);

  it('promote: production runs the same image id as staging, with production’s own variables, and cannot reach the services', async () => {
    await api.request({
      method: 'PATCH',
      url: `/apps/${app}/environments/staging/variables`,
      payload: { set: { GREETING: 'from staging' } },
    });
    await api.request({
      method: 'PATCH',
      url: `/apps/${app}/environments/production/variables`,
      payload: { set: { GREETING: 'from production' } },
    });
    await api.request({
      method: 'PATCH',
      url: `/apps/${app}/environments/production`,
      payload: {
        healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 15_000 },
        drainTimeoutMs: 500,
      },
    });
    const res = await api.request({
      method: 'POST',
      url: `/apps/${app}/environments/production/promote`,
      payload: { from: 'staging' },
    });
    expect(res.statusCode).toBe(202);
    const done = await waitForDeployment(api, res.json().id, ['live', 'failed'], 120_000);
    expect(done.reason).toBeNull();
    const image = async (env: string) =>
      (await api.request({ method: 'GET', url: `/apps/${app}/environments/${env}/status` })).json().liveRelease.image.id;
    expect(await image('production')).toBe(await image('staging'));
    await eventuallyServes(productionHost, '/greeting', 'from production');
    expect((await viaProxy(productionHost, '/env')).body).toBe('');

    // Production is not linked: the database's address is unreachable from its container, by name and by address.
    const [container] = await worker.docker.listContainers({ 'pier.service': db });
    const address = container?.networks[`pier-svc-${db}`] as string;
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await staging(`/probe?host=${address}&port=5432`)).body).toBe('connected');
    expect((await viaProxy(productionHost, `/probe?host=${address}&port=5432`)).body).toMatch(
      /^(timeout|EHOSTUNREACH|ECONNREFUSED|ENETUNREACH)$/,
    );
    expect((await viaProxy(productionHost, `/probe?host=pier-svc-${db}&port=5432`)).body).toMatch(/ENOTFOUND|EAI_AGAIN/);

    // Status says that production does not mirror staging's services.
    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/production/status` })).json();
    expect(status.mirror.comparedWith).toBe('staging');
    expect(status.mirror.differences).toEqual([
      `production has no postgres, staging has postgres 15`,
      `production has no redis, staging has redis 7`,
    ]);
  }, 240_000);

  it('a linked service cannot be deleted; unlinked, it is removed, and its volume only with deleteData', async () => {
    const refused = await api.request({ method: 'DELETE', url: `/services/${db}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toContain(`${app}/staging`);
    const volumeOf = async (name: string) =>
      (await api.request({ method: 'GET', url: `/services/${name}` })).json().volume as string;
    const volumeExists = async (volume: string) =>
      ((await worker.docker.docker.listVolumes({ filters: { name: [volume] } })).Volumes ?? []).some((v) => v.Name === volume);
    const cacheVolume = await volumeOf(cache);
    const dbVolume = await volumeOf(db);

    await redeployed(await api.request({ method: 'DELETE', url: `/apps/${app}/environments/staging/links/${cache}` }));
    await eventuallyServes(stagingHost, '/env', 'DATABASE_URL');
    expect((await api.request({ method: 'DELETE', url: `/services/${cache}` })).statusCode).toBe(202);
    await expect
      .poll(async () => (await api.request({ method: 'GET', url: `/services/${cache}` })).statusCode, { timeout: 60_000 })
      .toBe(404);
    expect(await volumeExists(cacheVolume)).toBe(true);
    // A new service of the same name starts empty: it does not adopt the kept volume.
    expect((await api.request({ method: 'POST', url: '/services', payload: { type: 'redis', name: cache } })).statusCode).toBe(
      202,
    );
    await waitForService(cache);
    expect(await volumeOf(cache)).not.toBe(cacheVolume);
    // The deleted one's backup is still listed, and restores into the new one.
    const kept = (await api.request({ method: 'GET', url: `/backups?service=${cache}` })).json().backups;
    const keptGood = kept.find((b: { state: string }) => b.state === 'good');
    expect(keptGood).toMatchObject({ type: 'redis', serviceDeleted: true });
    expect(existsSync(join(backupDirectory, keptGood.file))).toBe(true);
    const intoNew = await api.request({ method: 'POST', url: `/backups/${keptGood.id}/restore`, payload: { into: cache } });
    expect(intoNew.statusCode, intoNew.body).toBe(202);
    expect((await waitForOperation(cache, intoNew.json().operation.id)).error).toBeNull();
    const { password } = (await api.request({ method: 'GET', url: `/services/${cache}?reveal=true` })).json().connection;
    const got = await worker.docker.exec(`pier-svc-${cache}`, ['redis-cli', '--no-auth-warning', 'GET', 'greeting'], {
      env: { REDISCLI_AUTH: password },
    });
    expect(got.stdout.trim()).toBe('hello');
    // Deleting the new one with its data leaves the old one's kept backup file alone.
    expect((await api.request({ method: 'DELETE', url: `/services/${cache}?deleteData=true` })).statusCode).toBe(202);
    await expect
      .poll(async () => (await api.request({ method: 'GET', url: `/services/${cache}` })).statusCode, { timeout: 60_000 })
      .toBe(404);
    expect(existsSync(join(backupDirectory, keptGood.file))).toBe(true);
    // Deleted through the API: hidden at once, the file removed by the worker, then the record.
    expect((await api.request({ method: 'DELETE', url: `/backups/${keptGood.id}` })).statusCode).toBe(204);
    expect((await api.request({ method: 'GET', url: `/backups/${keptGood.id}` })).statusCode).toBe(404);
    await expect.poll(() => existsSync(join(backupDirectory, keptGood.file)), { timeout: 60_000, interval: 500 }).toBe(false);
    await expect
      .poll(async () => (await api.database.sql`select 1 from service_backups where id = ${keptGood.id}`).length, {
        timeout: 30_000,
      })
      .toBe(0);

    await redeployed(await api.request({ method: 'DELETE', url: `/apps/${app}/environments/staging/links/${db}` }));
    await eventuallyServes(stagingHost, '/env', /^$/);
    // Rolling back to a release made while the database was linked does not bring the link back.
    const rollback = await api.request({ method: 'POST', url: `/apps/${app}/environments/staging/rollback`, payload: {} });
    expect(rollback.statusCode).toBe(202);
    expect((await waitForDeployment(api, rollback.json().id, ['live', 'failed'], 120_000)).state).toBe('live');
    expect((await staging('/env')).body).toBe('');
    expect((await staging(`/probe?host=pier-svc-${db}&port=5432`)).body).toMatch(/ENOTFOUND|EAI_AGAIN/);

    expect((await api.request({ method: 'DELETE', url: `/services/${db}?deleteData=true` })).statusCode).toBe(202);
    await expect
      .poll(async () => (await api.request({ method: 'GET', url: `/services/${db}` })).statusCode, { timeout: 60_000 })
      .toBe(404);
    expect(await volumeExists(dbVolume)).toBe(false);
  }, 240_000);
});
