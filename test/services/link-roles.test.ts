import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { serviceApp } from '../support/service-app.ts';
import { backupFinished, operationFinished, removeServicesFromDocker, serviceReaches } from '../support/services.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Linked apps connect to their managed Postgres as a role of their own, not
 * as the superuser: the real worker creates it in the real service container,
 * the app (reached through the real proxy) uses it, a second environment
 * linked to the same database uses what the first created, a link made before
 * link roles is given one, a restore hands its objects back, and an unlinked
 * role can no longer log in.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let proxy: TestProxy;
let secret: string;
const run = Date.now().toString(36);
const app = `roles-${run}`;
const db = `rdb-${run}`;
const database = db.replace(/-/g, '_');

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: 'acme/roles', cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
  await api.request({
    method: 'PATCH',
    url: `/apps/${app}/environments/production`,
    payload: { healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 15_000 }, drainTimeoutMs: 500 },
  });
  proxy = await startTestProxy(api.database.url);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    await worker.docker.removeNetwork(`pier-${app}-production`).catch(() => {});
    await removeServicesFromDocker(worker, [db]);
  }
  await api?.close();
  repo?.remove();
}, 120_000);

const host = (env: string) => (env === 'production' ? `${app}.pier.test` : `${app}-${env}.pier.test`);
const get = (env: string, path: string) => getViaProxy(proxy.httpPort, host(env), path, 15_000);

async function eventuallyServes(env: string, path: string, expected: string | RegExp, timeout = 60_000) {
  await expect
    .poll(async () => (await get(env, path).catch((e: Error) => ({ status: 0, body: e.message }))).body, {
      timeout,
      interval: 500,
    })
    .toMatch(expected);
}

async function deployed(res: { statusCode: number; body: string; json(): { deployment?: { id: string } | null; id?: string } }) {
  expect(res.statusCode, res.body).toBeLessThan(300);
  const id = res.json().deployment?.id ?? res.json().id;
  expect(id).toBeDefined();
  const done = await waitForDeployment(api, id as string, ['live', 'failed'], 120_000);
  expect(done.reason).toBeNull();
}

/** The DATABASE_URL the environment's running replica was started with, from Docker. */
async function replicaDatabaseUrl(env: string): Promise<URL> {
  const [replica] = await worker.docker.listContainers({ 'pier.app': app, 'pier.env': env });
  const inspected = await worker.docker.docker.getContainer(replica?.id as string).inspect();
  const value = (inspected.Config.Env ?? []).find((e) => e.startsWith('DATABASE_URL='))?.slice('DATABASE_URL='.length);
  expect(value, `${env} has a DATABASE_URL`).toBeDefined();
  return new URL(value as string);
}

/** psql inside the service's container, over TCP with a password, as the URL's user: what an app's connection goes through. */
async function psqlAs(url: URL, statement: string) {
  return worker.docker.exec(
    `pier-svc-${db}`,
    [
      'psql',
      '-X',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      '127.0.0.1',
      '-U',
      decodeURIComponent(url.username),
      '-d',
      database,
      '-c',
      statement,
    ],
    { env: { PGPASSWORD: decodeURIComponent(url.password), PGCONNECT_TIMEOUT: '5' }, timeoutMs: 20_000 },
  );
}

/** psql as the superuser over the unix socket (the test's own look at the database). */
async function psqlSuper(statement: string): Promise<string> {
  const result = await worker.docker.exec(
    `pier-svc-${db}`,
    ['psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', 'pier', '-d', database, '-c', statement],
    { user: 'postgres', timeoutMs: 20_000 },
  );
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe('linked environments get a database role of their own', () => {
  let stagingUrl: URL;

  it('the DATABASE_URL of a linked app names a role that is no superuser and cannot make roles, and works', async () => {
    expect((await api.request({ method: 'POST', url: '/services', payload: { type: 'postgres', name: db } })).statusCode).toBe(
      202,
    );
    await serviceReaches(api, db);
    const sha = repo.commit(serviceApp(), 'service app');
    repo.push();
    const push = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload('acme/roles', 'refs/heads/main', sha),
      secret,
    });
    expect((await waitForDeployment(api, push.json().deployments[0].id, ['live', 'failed'], 180_000)).state).toBe('live');
    await deployed(
      await api.request({ method: 'POST', url: `/apps/${app}/environments/staging/links`, payload: { service: db } }),
    );
    await eventuallyServes('staging', '/env', 'DATABASE_URL');

    stagingUrl = await replicaDatabaseUrl('staging');
    expect(stagingUrl.username).not.toBe('pier');
    expect(stagingUrl.username).toMatch(/^app_[0-9a-f]{12}$/);
    expect(stagingUrl.hostname).toBe(`pier-svc-${db}`);
    expect(stagingUrl.pathname).toBe(`/${database}`);
    const superuser = (await api.request({ method: 'GET', url: `/services/${db}?reveal=true` })).json().connection;
    expect(decodeURIComponent(stagingUrl.password)).not.toBe(superuser.password);

    const whoami = await psqlAs(
      stagingUrl,
      'select session_user, rolsuper, rolcreaterole from pg_roles where rolname = current_user',
    );
    expect(whoami.exitCode, whoami.stderr).toBe(0);
    expect(whoami.stdout.trim()).toBe(`${stagingUrl.username}|f|f`);
    expect(await psqlSuper(`select rolsuper from pg_roles where rolname = '${stagingUrl.username}'`)).toBe('f');
    const createRole = await psqlAs(stagingUrl, 'CREATE ROLE x');
    expect(createRole.exitCode).not.toBe(0);
    expect(createRole.stderr).toContain('permission denied');
    const createDatabase = await psqlAs(stagingUrl, 'CREATE DATABASE x');
    expect(createDatabase.exitCode).not.toBe(0);

    // The app creates a table and reads and writes it, as its own role.
    expect((await get('staging', '/pg/write?v=one')).body).toBe('written');
    expect((await get('staging', '/pg/read')).body).toBe('one');
    expect(await psqlSuper("select tableowner from pg_tables where tablename = 'items'")).toBe('app_owner');
    // Deployment output never shows the role's password.
    const password = decodeURIComponent(stagingUrl.password);
    expect(worker.logs.join('\n')).not.toContain(password);
    const [sealed] = await api.database.sql`select * from service_link_roles where name = ${stagingUrl.username}`;
    expect(JSON.stringify(sealed)).not.toContain(password);
  }, 400_000);

  it('a link made before link roles keeps the superuser until the worker gives it a role, which sees what others made', async () => {
    // As the links of an installation upgraded to this version: no role recorded.
    await worker.runtime.serviceOperator.stop();
    const [env] = await api.database.sql<{ id: string }[]>`
      select e.id from environments e join apps a on a.id = e.app_id where a.name = ${app} and e.name = 'production'`;
    const [service] = await api.database.sql<{ id: string }[]>`select id from managed_services where name = ${db}`;
    await api.database.sql`
      insert into service_links (environment_id, service_id, variable) values (${env?.id as string}, ${service?.id as string}, 'DATABASE_URL')`;
    // Made as the superuser by an app that had its URL.
    await psqlSuper("create table legacy (v text); insert into legacy values ('old')");
    const before = new URL(
      (await createStores(api.database.db, api.box).services.injection(env?.id as string)).variables.DATABASE_URL as string,
    );
    expect(before.username).toBe('pier');

    await worker.runtime.serviceOperator.start();
    await expect
      .poll(
        async () =>
          (await api.database.sql`select ready_at from service_link_roles where environment_id = ${env?.id as string}`)[0]
            ?.ready_at ?? null,
        {
          timeout: 60_000,
          interval: 500,
        },
      )
      .not.toBeNull();
    const productionUrl = new URL(
      (await createStores(api.database.db, api.box).services.injection(env?.id as string)).variables.DATABASE_URL as string,
    );
    expect(productionUrl.username).toMatch(/^app_[0-9a-f]{12}$/);
    expect(productionUrl.username).not.toBe(stagingUrl.username);
    expect(await psqlSuper("select tableowner from pg_tables where tablename = 'legacy'")).toBe('app_owner');

    // Production runs staging's image with its own role: it reads the table staging created, and writes to it.
    await deployed(
      await api.request({ method: 'POST', url: `/apps/${app}/environments/production/promote`, payload: { from: 'staging' } }),
    );
    expect((await replicaDatabaseUrl('production')).username).toBe(productionUrl.username);
    await eventuallyServes('production', '/pg/read', 'one');
    expect((await get('production', '/pg/write?v=two')).body).toBe('written');
    expect((await get('staging', '/pg/read')).body).toBe('one,two');
    const legacy = await psqlAs(productionUrl, 'select v from legacy');
    expect(legacy.stdout.trim(), legacy.stderr).toBe('old');
  }, 300_000);

  it('a backup restored over the database leaves its tables to the link roles', async () => {
    const res = await api.request({ method: 'POST', url: `/services/${db}/backups` });
    expect(res.statusCode, res.body).toBe(202);
    const backup = await backupFinished(api, db, res.json().id);
    expect(backup.error).toBeNull();
    expect(backup.state).toBe('good');
    expect((await get('staging', '/pg/drop')).body).toBe('dropped');
    const restore = await api.request({ method: 'POST', url: `/services/${db}/backups/${res.json().id}/restore`, payload: {} });
    expect(restore.statusCode).toBe(202);
    const op = await operationFinished(api, db, restore.json().operation.id);
    expect(op.error).toBeNull();
    // pg_restore ran as the superuser; the worker handed the tables back.
    expect(await psqlSuper("select tableowner from pg_tables where tablename = 'items'")).toBe('app_owner');
    expect((await get('staging', '/pg/read')).body).toBe('one,two');
    const alter = await psqlAs(stagingUrl, 'alter table items add column note text');
    expect(alter.exitCode, alter.stderr).toBe(0);
  }, 240_000);

  it('once unlinked and its replicas drained, the role can no longer log in; the other link keeps working', async () => {
    expect((await psqlAs(stagingUrl, 'select 1')).stdout.trim()).toBe('1');
    await deployed(await api.request({ method: 'DELETE', url: `/apps/${app}/environments/staging/links/${db}` }));
    await eventuallyServes('staging', '/env', /^$/);
    await expect
      .poll(async () => (await psqlAs(stagingUrl, 'select 1')).exitCode, { timeout: 60_000, interval: 500 })
      .not.toBe(0);
    expect((await psqlAs(stagingUrl, 'select 1')).stderr).toMatch(/password authentication failed|does not exist/);
    expect(await psqlSuper(`select count(*) from pg_roles where rolname = '${stagingUrl.username}'`)).toBe('0');
    expect((await api.database.sql`select 1 from service_link_roles where name = ${stagingUrl.username}`).length).toBe(0);
    expect((await get('production', '/pg/read')).body).toBe('one,two');
  }, 240_000);
});
