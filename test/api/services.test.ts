import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';

/** The services API without Docker: the worker is not running, so services stay `provisioning` unless a test says otherwise. */
let api: TestApi;
let appToken: string;

beforeAll(async () => {
  api = await createTestApi();
  await api.request({ method: 'POST', url: '/apps', payload: { name: 'shop' } });
  appToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'shop ci', app: 'shop' } })).json().token;
});
afterAll(async () => api?.close());

async function createService(type: string, name: string, extra: object = {}) {
  const res = await api.request({ method: 'POST', url: '/services', payload: { type, name, ...extra } });
  expect(res.statusCode).toBe(202);
  return res.json();
}

/** As the worker would mark it once it accepts connections. */
async function markReady(name: string) {
  await api.database.sql`update managed_services set state = 'ready', ready_at = now() where name = ${name}`;
}

describe('services API', () => {
  it('creates a service with the configured image and version, credentials hidden unless revealed', async () => {
    const created = await createService('postgres', 'orders', {
      version: '15',
      backupSchedule: '30 2 * * *',
      backupRetention: 3,
    });
    expect(created).toMatchObject({
      name: 'orders',
      type: 'postgres',
      version: '15',
      image: 'pier-local/postgres:15',
      state: 'provisioning',
      backupSchedule: '30 2 * * *',
      backupRetention: 3,
      connection: { host: 'pier-svc-orders', port: 5432, revealed: false },
    });
    const revealed = (await api.request({ method: 'GET', url: '/services/orders?reveal=true' })).json();
    expect(revealed.connection).toMatchObject({ user: 'pier', database: 'orders', password: expect.any(String) });
    expect(revealed.connection.url).toBe(
      `postgres://pier:${encodeURIComponent(revealed.connection.password)}@pier-svc-orders:5432/orders`,
    );
    // Sealed at rest: the row holds no plaintext password.
    const [row] = await api.database.sql`select * from managed_services where name = 'orders'`;
    expect(JSON.stringify(row)).not.toContain(revealed.connection.password);
    expect(api.logs.join('\n')).not.toContain(revealed.connection.password);
    // One provision operation was queued with it.
    const ops = (await api.request({ method: 'GET', url: '/services/orders/operations' })).json().operations;
    expect(ops.map((o: { kind: string; state: string }) => [o.kind, o.state])).toEqual([['provision', 'pending']]);
    const redis = await createService('redis', 'sessions');
    expect(redis).toMatchObject({ version: '7', image: 'pier-local/redis:latest', connection: { port: 6379 } });
  });

  it('refuses bad input naming the field, and changes nothing', async () => {
    const before = await snapshotState(api.database.sql);
    const cases: [object, string][] = [
      [{ type: 'mysql', name: 'x' }, 'type'],
      [{ type: 'postgres', name: 'Bad_Name' }, 'name'],
      [{ type: 'postgres', name: `a${'b'.repeat(54)}` }, 'name'],
      [{ type: 'postgres', name: 'ok', version: 'latest' }, 'version'],
      [{ type: 'postgres', name: 'ok', version: '15;rm -rf' }, 'version'],
      [{ type: 'postgres', name: 'ok', backupSchedule: '61 * * * *' }, 'backupSchedule'],
      [{ type: 'postgres', name: 'ok', backupSchedule: 'daily' }, 'backupSchedule'],
      [{ type: 'postgres', name: 'ok', backupRetention: 0 }, 'backupRetention'],
      [{ type: 'postgres', name: 'ok', password: 'mine' }, 'password'],
      [{ name: 'ok' }, 'type'],
    ];
    for (const [payload, field] of cases) {
      const res = await api.request({ method: 'POST', url: '/services', payload });
      expectError(res, 422, 'validation_failed', field);
    }
    expectError(
      await api.request({ method: 'POST', url: '/services', payload: { type: 'redis', name: 'orders' } }),
      409,
      'conflict',
      'name',
    );
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('is for admins only; an app token may see its own links', async () => {
    const calls: [string, string, object | undefined][] = [
      ['GET', '/services', undefined],
      ['POST', '/services', { type: 'redis', name: 'x' }],
      ['GET', '/services/orders', undefined],
      ['DELETE', '/services/orders', undefined],
      ['POST', '/services/orders/backups', undefined],
      ['POST', '/apps/shop/environments/staging/links', { service: 'orders' }],
    ];
    for (const [method, url, payload] of calls) {
      const res = await api.request({ method: method as 'GET', url, token: appToken, payload });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    const links = await api.request({ method: 'GET', url: '/apps/shop/environments/staging/links', token: appToken });
    expect(links.statusCode).toBe(200);
    expect(links.json()).toEqual({ links: [] });
  });

  it('links only ready services; injects DATABASE_URL, then <NAME>_DATABASE_URL; clashing variables are refused both ways', async () => {
    await createService('postgres', 'analytics');
    const notReady = await api.request({
      method: 'POST',
      url: '/apps/shop/environments/staging/links',
      payload: { service: 'analytics' },
    });
    expectError(notReady, 409, 'conflict', 'provisioning');
    await markReady('orders');
    await markReady('analytics');
    expectError(
      await api.request({ method: 'POST', url: '/apps/shop/environments/staging/links', payload: { service: 'nope' } }),
      422,
      'validation_failed',
      'service',
    );

    // A user variable with the name the link would inject: the link is refused.
    await api.request({
      method: 'PATCH',
      url: '/apps/shop/environments/staging/variables',
      payload: { set: { DATABASE_URL: 'x' } },
    });
    const clash = await api.request({
      method: 'POST',
      url: '/apps/shop/environments/staging/links',
      payload: { service: 'orders' },
    });
    expectError(clash, 422, 'validation_failed', 'would inject DATABASE_URL');
    await api.request({
      method: 'PATCH',
      url: '/apps/shop/environments/staging/variables',
      payload: { unset: ['DATABASE_URL'] },
    });

    const first = await api.request({
      method: 'POST',
      url: '/apps/shop/environments/staging/links',
      payload: { service: 'orders' },
    });
    expect(first.statusCode).toBe(201);
    // Nothing deployed yet: nothing to redeploy.
    expect(first.json()).toEqual({
      service: 'orders',
      variable: 'DATABASE_URL',
      variables: ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'],
      urlParams: {},
      deployment: null,
    });
    // URL parameters from a safe alphabet only, never the URL's own parts; the error names the field.
    for (const [urlParams, field] of [
      [{ sslmode: 'require&password=x' }, 'body.urlParams.sslmode'],
      [{ password: 'x' }, 'body.urlParams.password'],
    ] as const) {
      const res = await api.request({
        method: 'POST',
        url: '/apps/shop/environments/staging/links',
        payload: { service: 'analytics', urlParams },
      });
      expectError(res, 422, 'validation_failed', field);
    }
    // A user variable named like one of the second link's parts: refused too, naming it.
    await api.request({
      method: 'PATCH',
      url: '/apps/shop/environments/staging/variables',
      payload: { set: { ANALYTICS_PGHOST: 'x' } },
    });
    expectError(
      await api.request({ method: 'POST', url: '/apps/shop/environments/staging/links', payload: { service: 'analytics' } }),
      422,
      'validation_failed',
      'would inject ANALYTICS_PGHOST',
    );
    await api.request({
      method: 'PATCH',
      url: '/apps/shop/environments/staging/variables',
      payload: { unset: ['ANALYTICS_PGHOST'] },
    });
    const second = await api.request({
      method: 'POST',
      url: '/apps/shop/environments/staging/links',
      payload: { service: 'analytics', urlParams: { sslmode: 'verify-full' } },
    });
    expect(second.json()).toMatchObject({
      variable: 'ANALYTICS_DATABASE_URL',
      variables: [
        'ANALYTICS_DATABASE_URL',
        'ANALYTICS_PGHOST',
        'ANALYTICS_PGPORT',
        'ANALYTICS_PGUSER',
        'ANALYTICS_PGPASSWORD',
        'ANALYTICS_PGDATABASE',
        'ANALYTICS_PGSSLMODE',
      ],
      urlParams: { sslmode: 'verify-full' },
    });
    const listed = (await api.request({ method: 'GET', url: '/apps/shop/environments/staging/links' })).json().links;
    expect(listed.map((l: { urlParams: object }) => l.urlParams)).toEqual([{}, { sslmode: 'verify-full' }]);
    expectError(
      await api.request({ method: 'POST', url: '/apps/shop/environments/staging/links', payload: { service: 'orders' } }),
      409,
      'conflict',
      'already linked',
    );
    // And a variable named like an injected one is refused.
    for (const key of ['DATABASE_URL', 'ANALYTICS_DATABASE_URL', 'PGPASSWORD', 'ANALYTICS_PGSSLMODE']) {
      const res = await api.request({
        method: 'PATCH',
        url: '/apps/shop/environments/staging/variables',
        payload: { set: { [key]: 'x' } },
      });
      expectError(res, 422, 'validation_failed', `set.${key}`);
    }
    // Linked: not deletable.
    expectError(await api.request({ method: 'DELETE', url: '/services/orders' }), 409, 'conflict', 'shop/staging');
    const status = (await api.request({ method: 'GET', url: '/apps/shop/environments/production/status' })).json();
    expect(status.mirror).toEqual({
      comparedWith: 'staging',
      differences: ['production has no postgres, staging has postgres 15 + postgres 15'],
    });
    // Unlinked: the second one takes no other's name, and deletion is queued.
    expect((await api.request({ method: 'DELETE', url: '/apps/shop/environments/staging/links/analytics' })).statusCode).toBe(
      200,
    );
    expect((await api.request({ method: 'DELETE', url: '/services/analytics?deleteData=true' })).statusCode).toBe(202);
    const ops = (await api.request({ method: 'GET', url: '/services/analytics/operations' })).json().operations;
    expect(ops[0]).toMatchObject({ kind: 'delete', state: 'pending' });
  });

  it('a linked service keeps its variable name when another is unlinked', async () => {
    await api.request({ method: 'POST', url: '/apps/shop/environments', payload: { name: 'qa' } });
    for (const name of ['first-db', 'second-db']) {
      await createService('postgres', name);
      await markReady(name);
      const res = await api.request({ method: 'POST', url: '/apps/shop/environments/qa/links', payload: { service: name } });
      expect(res.statusCode).toBe(201);
    }
    const names = async () =>
      (await api.request({ method: 'GET', url: '/apps/shop/environments/qa/links' }))
        .json()
        .links.map((l: { service: string; variable: string }) => `${l.service}=${l.variable}`);
    expect(await names()).toEqual(['first-db=DATABASE_URL', 'second-db=SECOND_DB_DATABASE_URL']);
    // Unlinking the first never hands its DATABASE_URL to the second (the app would write elsewhere).
    await api.request({ method: 'DELETE', url: '/apps/shop/environments/qa/links/first-db' });
    expect(await names()).toEqual(['second-db=SECOND_DB_DATABASE_URL']);
    // The free name goes to the next one linked.
    await api.request({ method: 'POST', url: '/apps/shop/environments/qa/links', payload: { service: 'first-db' } });
    expect(await names()).toEqual(['second-db=SECOND_DB_DATABASE_URL', 'first-db=DATABASE_URL']);
  });

  it('promotion needs a live release in the source and another environment', async () => {
    expectError(
      await api.request({ method: 'POST', url: '/apps/shop/environments/production/promote', payload: { from: 'staging' } }),
      409,
      'conflict',
      'no live release',
    );
    expectError(
      await api.request({ method: 'POST', url: '/apps/shop/environments/production/promote', payload: { from: 'production' } }),
      422,
      'validation_failed',
      'from',
    );
    expectError(
      await api.request({ method: 'POST', url: '/apps/shop/environments/production/promote', payload: { from: 'nope' } }),
      404,
      'not_found',
    );
  });
});

describe('service operations and backups in Postgres', () => {
  it('an operation is claimed once; a dead worker’s lease expires and another takes it over; one service runs in order', async () => {
    const { services, serviceOperations } = createStores(api.database.db, api.box);
    const service = await services.get('sessions');
    const first = await serviceOperations.claimOperation(60_000);
    // Oldest first: `orders`' provision came before `sessions'`.
    expect(first?.kind).toBe('provision');
    const claims = await Promise.all([serviceOperations.claimOperation(60_000), serviceOperations.claimOperation(60_000)]);
    const ids = claims.filter(Boolean).map((c) => c?.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Expire every lease: they are taken again, with the attempt counted.
    await api.database.sql`update service_operations set locked_until = now() - interval '1 second' where state = 'running'`;
    const again = await serviceOperations.claimOperation(60_000);
    expect(again?.attempts).toBe(2);
    // A backup queued behind the provision of the same service waits for it.
    const backup = await serviceOperations.requestBackup(service, 'manual');
    expect(backup).not.toBeNull();
    await api.database.sql`update service_operations set state = 'done' where kind = 'provision' and service_id <> ${service.id}`;
    await api.database.sql`update service_operations set state = 'done' where kind = 'delete'`;
    const pendingKinds = async () => {
      const claimed = await serviceOperations.claimOperation(60_000);
      return claimed ? `${claimed.kind}` : null;
    };
    await api.database
      .sql`update service_operations set state = 'pending', locked_until = null where service_id = ${service.id} and kind = 'provision'`;
    expect(await pendingKinds()).toBe('provision');
    expect(await pendingKinds()).toBeNull(); // the backup waits while its service's provision runs
  });

  it('a scheduled slot makes one backup however many workers ask; retention keeps the newest good ones', async () => {
    const { services, serviceOperations } = createStores(api.database.db, api.box);
    const service = await services.get('orders');
    const slot = new Date('2026-01-01T03:00:00Z');
    const made = await Promise.all([1, 2, 3, 4].map(() => serviceOperations.requestBackup(service, 'scheduled', slot)));
    expect(made.filter(Boolean)).toHaveLength(1);
    expect(await serviceOperations.lastScheduledSlot(service.id)).toEqual(slot);
    for (let i = 0; i < 5; i++) {
      const b = await serviceOperations.requestBackup(service, 'manual');
      await serviceOperations.updateBackup(b?.id as string, { state: 'good', fileName: `orders/${i}.dump` });
    }
    const pruned = await serviceOperations.pruneBackups(service.id, 2);
    expect(pruned.map((b) => b.fileName).sort()).toEqual(['orders/0.dump', 'orders/1.dump', 'orders/2.dump']);
    const left = (await serviceOperations.backups(service.id)).filter((b) => b.state === 'good').map((b) => b.fileName);
    expect(left.sort()).toEqual(['orders/3.dump', 'orders/4.dump']);
  });

  it('a re-creation is queued only while the row still names the container seen gone, and only once', async () => {
    const { services, serviceOperations } = createStores(api.database.db, api.box);
    await createService('redis', 'flaky');
    const service = await services.get('flaky');
    await api.database.sql`update service_operations set state = 'done' where service_id = ${service.id}`;
    await api.database.sql`update managed_services set state = 'ready', container_id = 'c-new' where id = ${service.id}`;
    // Seen with an older container (a re-creation finished meanwhile): nothing queued.
    expect(await serviceOperations.requestReprovision(service.id, 'c-old', 'ready')).toBe(false);
    // Seen gone with the current one: queued once, however many workers saw it.
    const queued = await Promise.all([1, 2, 3].map(() => serviceOperations.requestReprovision(service.id, 'c-new', 'ready')));
    expect(queued.filter(Boolean)).toHaveLength(1);
    const ops = await serviceOperations.operations(service.id);
    expect(ops.filter((o) => o.state === 'pending').map((o) => o.kind)).toEqual(['provision']);
  });

  it('backups outlive a service deleted without its data: listed, and restored only into a service named by `into`', async () => {
    const { services, serviceOperations } = createStores(api.database.db, api.box);
    await createService('postgres', 'ledger', { version: '15' });
    const service = await services.get('ledger');
    const good = await serviceOperations.requestBackup(service, 'manual');
    await serviceOperations.updateBackup(good?.id as string, { state: 'good', fileName: 'ledger/a.dump', sha256: 'ab' });
    const unfinished = await serviceOperations.requestBackup(service, 'manual');
    // A good one being verified a second time when the service goes: good again, not failed.
    const reverifying = await serviceOperations.requestBackup(service, 'manual');
    await serviceOperations.updateBackup(reverifying?.id as string, {
      state: 'verifying',
      fileName: 'ledger/b.dump',
      verification: { verifiedAt: '2026-01-01T00:00:00.000Z' },
    });
    expect((await api.request({ method: 'GET', url: `/backups/${good?.id}` })).json()).toMatchObject({
      service: 'ledger',
      type: 'postgres',
      version: '15',
      serviceDeleted: false,
      state: 'good',
    });

    // What the worker does once the container is gone, without deleteData.
    await serviceOperations.failUnfinishedBackups(service.id);
    await services.remove(service.id);
    const listed = (await api.request({ method: 'GET', url: '/backups?service=ledger' })).json().backups;
    expect(listed.map((b: { id: string; state: string; serviceDeleted: boolean }) => [b.id, b.state, b.serviceDeleted])).toEqual([
      [reverifying?.id, 'good', true],
      [unfinished?.id, 'failed', true],
      [good?.id, 'good', true],
    ]);
    expect(listed[1].error).toContain('deleted before this backup finished');
    expect((await api.request({ method: 'GET', url: '/backups?service=nothing-here' })).json().backups).toEqual([]);
    // Paged: the newest first, then those before the last one shown.
    const page = (await api.request({ method: 'GET', url: '/backups?service=ledger&limit=2' })).json().backups;
    expect(page.map((b: { id: string }) => b.id)).toEqual([reverifying?.id, unfinished?.id]);
    const next = await api.request({
      method: 'GET',
      url: `/backups?service=ledger&limit=2&before=${page[1].id}`,
    });
    expect(next.json().backups.map((b: { id: string }) => b.id)).toEqual([good?.id]);
    expectError(await api.request({ method: 'GET', url: '/backups?limit=0' }), 422, 'validation_failed', 'query.limit');
    expectError(await api.request({ method: 'GET', url: '/backups?before=yesterday' }), 422, 'validation_failed', 'query.before');
    expectError(await api.request({ method: 'GET', url: `/backups?before=${crypto.randomUUID()}` }), 404, 'not_found');

    const before = await snapshotState(api.database.sql);
    const restore = (payload: object) => api.request({ method: 'POST', url: `/backups/${good?.id}/restore`, payload });
    expectError(await restore({}), 422, 'validation_failed', 'into: the service ledger was deleted');
    expectError(await restore({ into: 'sessions' }), 422, 'validation_failed', 'a postgres backup needs a postgres');
    expectError(await restore({ into: 'Bad Name' }), 422, 'validation_failed', 'body.into');
    expect(await snapshotState(api.database.sql)).toEqual(before);
    const failedRestore = await api.request({
      method: 'POST',
      url: `/backups/${unfinished?.id}/restore`,
      payload: { into: 'x' },
    });
    expectError(failedRestore, 409, 'conflict', 'only verified (good) backups are restored');
    // A deleted service's backup cannot be verified where it was: a restore checks it again.
    const { serviceOperations: ops } = createStores(api.database.db, api.box);
    await expect(ops.requestVerify(await ops.backup(good?.id as string))).rejects.toThrow(/deleted service ledger/);

    // Into a new service: created with the backup's type and version, the restore queued behind its provision.
    const res = await restore({ into: 'ledger-restored' });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ service: 'ledger-restored', operation: { kind: 'restore', backupId: good?.id } });
    expect((await api.request({ method: 'GET', url: '/services/ledger-restored' })).json()).toMatchObject({
      type: 'postgres',
      version: '15',
      image: 'pier-local/postgres:15',
    });
    const kinds = (await api.request({ method: 'GET', url: '/services/ledger-restored/operations' })).json().operations;
    expect(kinds.map((o: { kind: string }) => o.kind).sort()).toEqual(['provision', 'restore']);

    // Deleting a backup: refused while the restore above still waits to use it; a failed one goes at once.
    const busy = await api.request({ method: 'DELETE', url: `/backups/${good?.id}` });
    expectError(busy, 409, 'conflict', 'in use by a restore operation');
    expect((await api.request({ method: 'DELETE', url: `/backups/${unfinished?.id}` })).statusCode).toBe(204);
    expectError(await api.request({ method: 'DELETE', url: `/backups/${unfinished?.id}` }), 404, 'not_found');
    const after = (await api.request({ method: 'GET', url: '/backups?service=ledger' })).json().backups;
    expect(after.map((b: { id: string }) => b.id)).toEqual([reverifying?.id, good?.id]);
    // Hidden at once; the record stays, marked, until a worker has removed the file.
    const [tombstone] = await api.database.sql`select deleted_at from service_backups where id = ${unfinished?.id as string}`;
    expect(tombstone?.deleted_at).not.toBeNull();

    // Backups are admin only, like services.
    expectError(await api.request({ method: 'GET', url: '/backups', token: appToken }), 403, 'forbidden');
    expectError(await api.request({ method: 'GET', url: `/backups/${crypto.randomUUID()}` }), 404, 'not_found');
  });
});
