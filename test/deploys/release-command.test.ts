import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { serviceApp } from '../support/service-app.ts';
import { removeServicesFromDocker, serviceReaches } from '../support/services.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * The release phase, end to end on real Docker, a real managed Postgres and
 * the real proxy: pier.json's release command migrates the linked database
 * in a one-off container before any replica of the release starts; one that
 * fails leaves the old release serving; and the verified backup taken right
 * before each release command lets a rollback bring back the rows a later
 * migration deleted.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let proxy: TestProxy;
let secret: string;
const run = Date.now().toString(36);
const app = `relcmd-${run}`;
const db = `reldb-${run}`;

/** A migration script run as the release command: what it does depends on `migration.txt`. */
const MIGRATE = `
const fs = require('fs');
const postgres = require('./pg/index.js');
const step = fs.readFileSync('migration.txt', 'utf8').trim();
const sql = postgres(process.env.DATABASE_URL, { max: 1, connect_timeout: 5 });
(async () => {
  console.log('migrating: ' + step);
  await sql\`create table if not exists items (id serial primary key, value text not null)\`;
  if (step === 'seed') await sql\`insert into items (value) values ('one'), ('two'), ('three')\`;
  if (step === 'drop-two') await sql\`delete from items where value = 'two'\`;
  if (step === 'fail') { console.error('migration failed: column "nope" does not exist'); process.exit(3); }
  const [{ count }] = await sql\`select count(*)::int as count from items\`;
  console.log('migrated: ' + count + ' rows');
  await sql.end();
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

function commitStep(step: string): string {
  const sha = repo.commit(
    {
      ...serviceApp(),
      'migrate.js': MIGRATE,
      'migration.txt': `${step}\n`,
      'pier.json': JSON.stringify({
        release: { command: 'node migrate.js', timeoutSeconds: 120 },
        requiredVariables: [{ name: 'DATABASE_URL', description: 'injected by the link' }],
      }),
    },
    step,
  );
  repo.push();
  return sha;
}

async function push(step: string) {
  const sha = commitStep(step);
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha), secret });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().deployments[0].id as string;
  return { id, done: await waitForDeployment(api, id, ['live', 'failed'], 240_000) };
}

async function logOf(id: string): Promise<string> {
  return ((await api.request({ method: 'GET', url: `/deployments/${id}/logs` })).json().lines as { line: string }[])
    .map((l) => l.line)
    .join('\n');
}

const read = async () => (await getViaProxy(proxy.httpPort, `${app}-staging.pier.test`, '/pg/read', 15_000)).body;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: `acme/${app}`, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
  proxy = await startTestProxy(api.database.url);
}, 240_000);

afterAll(async () => {
  await proxy?.stop();
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    await removeServicesFromDocker(worker, [db]);
  }
  await api?.close();
  repo?.remove();
}, 120_000);

describe('release command', () => {
  it('migrates the linked Postgres in a one-off container before the release’s replicas start', async () => {
    expect((await api.request({ method: 'POST', url: '/services', payload: { type: 'postgres', name: db } })).statusCode).toBe(
      202,
    );
    await serviceReaches(api, db);
    const link = await api.request({ method: 'POST', url: `/apps/${app}/environments/staging/links`, payload: { service: db } });
    expect(link.statusCode, link.body).toBeLessThan(300);
    const { id, done } = await push('seed');
    expect(done.state, done.reason).toBe('live');
    const log = await logOf(id);
    // The command's own output, in order, before the first replica of the release started.
    const migrated = log.indexOf('migrated: 3 rows');
    expect(log.indexOf('running the release command: node migrate.js')).toBeGreaterThan(-1);
    expect(migrated).toBeGreaterThan(log.indexOf('migrating: seed'));
    expect(log.indexOf('release command succeeded')).toBeGreaterThan(migrated);
    // The proxy picks the first route up within its reload.
    await expect.poll(read, { timeout: 20_000, interval: 500 }).toBe('one,two,three');
    // Status shows the release's settings and where they came from, and its required variables now.
    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/status` })).json();
    expect(status.liveRelease.releaseCommand).toBe('node migrate.js');
    expect(status.liveRelease.settings.release).toEqual({
      value: { command: 'node migrate.js', timeoutSeconds: 120 },
      source: 'pier.json',
    });
    expect(status.requiredVariables).toEqual([{ name: 'DATABASE_URL', description: 'injected by the link', set: true }]);
    // The one-off container is gone; only the replica runs.
    expect(await worker.docker.listContainers({ 'pier.app': app, 'pier.role': 'release' })).toEqual([]);
  }, 300_000);

  it('takes a verified backup right before the command, and the migration’s changes are live', async () => {
    const { id, done } = await push('drop-two');
    expect(done.state, done.reason).toBe('live');
    const log = await logOf(id);
    expect(log).toMatch(new RegExp(`backup [0-9a-f-]{36} of ${db} verified`));
    expect(log.indexOf('verified')).toBeLessThan(log.indexOf('running the release command'));
    await expect.poll(read, { timeout: 20_000, interval: 500 }).toBe('one,three');
    const [release] = await api.database.sql<{ backup_id: string | null; version: number }[]>`
      select r.backup_id, r.version from releases r join deployments d on d.release_id = r.id where d.id = ${id}`;
    expect(release?.backup_id).toMatch(/^[0-9a-f-]{36}$/);
  }, 300_000);

  it('a release command that fails fails the deployment with its exit code and output, and the old release keeps serving', async () => {
    const { id, done } = await push('fail');
    expect(done.state).toBe('failed');
    expect(done.reason).toContain('the release command exited with code 3');
    expect(done.reason).toContain('migration failed: column "nope" does not exist');
    expect(await logOf(id)).toContain('migration failed');
    expect(await read()).toBe('one,three');
    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/status` })).json();
    expect(status.liveRelease.version).toBe(2);
    expect(await worker.docker.listContainers({ 'pier.app': app, 'pier.role': 'release' })).toEqual([]);
  }, 300_000);

  it('rolls back code and data: restoreData restores the backup taken before the later release’s migration', async () => {
    const res = await api.request({
      method: 'POST',
      url: `/apps/${app}/environments/staging/rollback`,
      payload: { release: 1, restoreData: true },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().restore).toMatchObject({ service: db, takenBefore: 2 });
    const done = await waitForDeployment(api, res.json().id, ['live', 'failed'], 240_000);
    expect(done.state, done.reason).toBe('live');
    await expect.poll(read, { timeout: 30_000, interval: 500 }).toBe('one,two,three');
    const log = await logOf(res.json().id);
    expect(log).toContain('waiting for the restore of');
    expect(log).not.toContain('running the release command');
  }, 300_000);
});
