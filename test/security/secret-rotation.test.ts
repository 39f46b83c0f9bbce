import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Principal, SecretBox } from '@pier/core';
import { CertificateStore, createStores, linkRolePassword, PostgresAcmeAccountStore } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { exitWithin, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { workerProcessEnv } from '../support/worker-process.ts';

/**
 * Rotating PIER_SECRET_KEY: values sealed with key A, the real worker process
 * started with key B current and A previous re-seals them in the background,
 * `npm run secrets -- status` (the real command) counts them down to 0 under
 * A, and then every value opens with a box that holds B alone.
 */

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const run = randomBytes(3).toString('hex');
const appName = `rotate-${run}`;
const hostname = `shop-${run}.example.test`;
const directoryUrl = 'https://127.0.0.1:9/directory';
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-rotate-work-'));
const backupDirectory = mkdtempSync(join(tmpdir(), 'pier-rotate-backups-'));
let api: TestApi;
let worker: RunningProcess | undefined;
const admin: Principal = { role: 'admin', tokenId: null };

/** Every kind of sealed value, sealed with A, and what each must open to. */
const expected = {
  variable: `variable-${run}`,
  config: { RELEASED: `release-${run}` },
  webhookSecret: '',
  token: `ghp_${run}`,
  servicePassword: '',
  rolePassword: '',
  certificateKey: `-----BEGIN PRIVATE KEY-----\ncert-${run}\n-----END PRIVATE KEY-----\n`,
  accountKey: `-----BEGIN PRIVATE KEY-----\naccount-${run}\n-----END PRIVATE KEY-----\n`,
};
const ids = { environment: '', release: '', service: '', app: '' };

beforeAll(async () => {
  api = await createTestApi({ secretKey: keyA });
  const stores = createStores(api.database.db, api.box);
  const created = await api.request({
    method: 'POST',
    url: '/apps',
    payload: { name: appName, repository: { fullName: `acme/${appName}`, cloneUrl: 'https://github.com/acme/rotate.git' } },
  });
  expect(created.statusCode, created.body).toBe(201);
  expected.webhookSecret = created.json().webhookSecret;
  const app = await stores.apps.get(admin, appName);
  ids.app = app.id;
  await stores.apps.setRepoCredentials(admin, appName, { kind: 'token', token: expected.token });
  const env = await stores.environments.get(app.id, 'staging');
  ids.environment = env.id;
  await stores.variables.change(env.id, { set: { SECRET: expected.variable } });
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: 'sha256:0',
    imageRef: 'sha256:0',
    config: expected.config,
    networks: [],
    configVersion: env.configVersion,
    replicas: 1,
    health: { path: '/health', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 1000 },
  });
  ids.release = release.id;
  // A Postgres service linked to the environment (its row and its link role); no container is made for it.
  const service = await stores.services.create({
    name: `db-${run}`,
    type: 'postgres',
    version: '15',
    image: 'pier-local/postgres',
  });
  ids.service = service.id;
  await api.database.sql`update service_operations set state = 'done' where service_id = ${service.id}`;
  await api.database.sql`update managed_services set state = 'ready' where id = ${service.id}`;
  await stores.services.link(env.id, service.id);
  await api.database.sql`update managed_services set state = 'failed' where id = ${service.id}`;
  expected.servicePassword = stores.services.credentials(service).password;
  const role = await stores.serviceRoles.activeRole(service.id, env.id);
  expected.rolePassword = linkRolePassword(api.box, role as NonNullable<typeof role>);
  // A custom domain's certificate (wanted, so the worker keeps it; renewal far off) and an ACME account.
  await api.database.sql`insert into domains (environment_id, hostname) values (${env.id}, ${hostname})`;
  await stores.certificates.track([hostname]);
  await stores.certificates.recordIssued(
    hostname,
    {
      certificatePem: 'cert',
      privateKeyPem: expected.certificateKey,
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 90 * 86_400_000),
    },
    new Date(Date.now() + 60 * 86_400_000),
  );
  await new PostgresAcmeAccountStore(api.database.db, api.box).create({
    directoryUrl,
    email: null,
    accountUrl: null,
    privateKeyPem: expected.accountKey,
  });
}, 60_000);

afterAll(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
    signalGroup(worker, 'SIGTERM');
    await exitWithin(worker, 20_000).catch(() => {
      if (worker) signalGroup(worker, 'SIGKILL');
    });
  }
  await api?.close();
  rmSync(workDirectory, { recursive: true, force: true });
  rmSync(backupDirectory, { recursive: true, force: true });
});

const keys = { PIER_SECRET_KEY: keyB.toString('base64'), PIER_SECRET_KEYS_PREVIOUS: keyA.toString('base64') };
/** The proxy's own key: the worker moves certificate keys (sealed with key A before the proxy had one) under it. */
const proxyKey = randomBytes(32);

/** `npm run secrets -- status`, as its own process; its output. */
async function secretsStatus(): Promise<string> {
  const proc = startScript('apps/worker/src/main.ts', { DATABASE_URL: api.database.url, ...keys, PIER_LOG_FORMAT: 'json' }, [
    'secrets',
    'status',
  ]);
  const code = await exitWithin(proc, 30_000);
  expect(code, proc.output()).toBe(0);
  return proc.output();
}

describe('rotating PIER_SECRET_KEY', () => {
  it('the worker re-seals every stored secret under the new key; the status counts down to 0 under the old one', async () => {
    const idA = new SecretBox(keyA).currentKeyId;
    const idB = new SecretBox(keyB).currentKeyId;
    const before = await secretsStatus();
    expect(before).toContain(`${idB} (current)`);
    expect(before).toContain(`${idA} (previous)`);
    expect(before).toMatch(/^7 value\(s\) still sealed with a previous key/m);
    for (const label of [
      'variables.value',
      'releases.config',
      'apps.webhook_secret',
      'apps.repo_credentials',
      'managed_services.credentials',
      'service_link_roles.password',
      'acme_accounts.key',
    ]) {
      expect(before, label).toMatch(new RegExp(`^${label.replace('.', '\\.')}\\s+0\\s+[1-9]`, 'm'));
    }

    worker = startScript(
      'apps/worker/src/main.ts',
      workerProcessEnv(
        { databaseUrl: api.database.url, secretKey: keyB, proxyKey, workDirectory },
        {
          ...keys,
          PIER_ALLOW_FILE_REPOS: 'false',
          PIER_HOST_FIREWALL: 'false',
          PIER_BACKUP_DIR: backupDirectory,
          PIER_INSTANCE: `pier-rotate-${run}`,
          PIER_QUEUE_PREFIX: `pier-rotate-${run}`,
          // Loopback, and nothing listens there: this worker never reaches a real CA.
          PIER_ACME_DIRECTORY_URL: directoryUrl,
        },
      ),
    );
    const started = Date.now();
    let status = '';
    while (!/^0 values sealed with a previous key: PIER_SECRET_KEYS_PREVIOUS can be emptied/m.test(status)) {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
      if (Date.now() - started > 60_000) throw new Error(`still sealed with the previous key after 60 s:\n${status}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = await secretsStatus();
    }
    expect(status).toMatch(/^variables\.value\s+1\s+0\b/m);
    expect(worker.output()).toContain('secrets re-sealed with the current key');
    signalGroup(worker, 'SIGTERM');
    expect(await exitWithin(worker, 30_000)).toBe(0);
    // Nothing secret reached the worker's output.
    for (const value of [
      expected.variable,
      expected.token,
      expected.servicePassword,
      expected.rolePassword,
      expected.webhookSecret,
    ])
      expect(worker.output()).not.toContain(value);
  }, 120_000);

  it('everything opens with the new key alone', async () => {
    const onlyB = new SecretBox(keyB);
    const stores = createStores(api.database.db, onlyB);
    const app = await stores.apps.byId(ids.app);
    expect(await stores.variables.plain(ids.environment)).toEqual({ SECRET: expected.variable });
    expect(stores.releases.config(await stores.releases.get(ids.release))).toEqual(expected.config);
    expect(stores.apps.webhookSecret(app)).toBe(expected.webhookSecret);
    expect(stores.apps.repoAccess(app)?.access.credentials).toEqual({ kind: 'token', token: expected.token });
    const service = await stores.services.byId(ids.service);
    expect(stores.services.credentials(service as NonNullable<typeof service>).password).toBe(expected.servicePassword);
    const role = await stores.serviceRoles.activeRole(ids.service, ids.environment);
    expect(linkRolePassword(onlyB, role as NonNullable<typeof role>)).toBe(expected.rolePassword);
    const serving = await new CertificateStore(api.database.db, new SecretBox(proxyKey)).serving();
    expect(serving.unreadable).toEqual([]);
    expect(serving.certificates.map((c) => [c.hostname, c.privateKeyPem])).toEqual([[hostname, expected.certificateKey]]);
    expect((await new PostgresAcmeAccountStore(api.database.db, onlyB).load(directoryUrl))?.privateKeyPem).toBe(
      expected.accountKey,
    );
    // And not with the old key alone: they really were sealed anew.
    expect(() =>
      createStores(api.database.db, new SecretBox(keyA)).services.credentials(service as NonNullable<typeof service>),
    ).toThrow();
  }, 30_000);
});
