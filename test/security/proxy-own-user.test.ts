import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { grantProxyRole } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvironmentFile } from '../process/systemd-environment-file.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import {
  exitWithin,
  freePort,
  REPO_ROOT,
  type RunningProcess,
  scriptCommand,
  signalGroup,
  spawnCollecting,
  waitForHttp,
} from '../support/processes.ts';

/**
 * The proxy as deploy/systemd/pier-proxy.service runs it: as a user of its
 * own (here nobody), from a clone whose .env (PIER_SECRET_KEY, the admin
 * token, the database owner's URL) is another user's, mode 600, with exactly
 * the variables of the proxy.env that `scripts/install-service.sh --render`
 * writes from that .env, read as systemd reads them. It starts, serves its
 * /health, connects as its own database role and writes its snapshots; it
 * holds none of .env's secrets and does not read .env, which the same process
 * run by .env's owner (as the units ran it before, both as pier) does.
 */

const runFile = promisify(execFile);
const NOBODY = 65534;
const PROXY_ROLE = process.env.PIER_TEST_PROXY_ROLE ?? 'pier_test_proxy';
const root = mkdtempSync(join(tmpdir(), 'pier-proxy-user-'));
const clone = join(root, 'clone');
const dotEnv = join(clone, '.env');
// Outside /tmp and /var/tmp, as the installer wants a snapshot that outlives a restart.
const snapshotDir = mkdtempSync('/var/lib/pier-test-proxy-');
const secretKey = randomBytes(32).toString('base64');
const adminToken = randomBytes(32).toString('hex');
const started: RunningProcess[] = [];
let database: TestDatabase;
let proxyUrl: string;
let adminPort: number;
let proxyEnv: Record<string, string>;

/** The proxy's entry point in the clone, as `uid` (setpriv, no group, no capability) unless root. */
function startProxy(uid: number): RunningProcess {
  const node = scriptCommand('apps/proxy/src/main.ts');
  const setpriv = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];
  const command = uid === 0 ? node : [...setpriv, '--no-new-privs', '--', ...node];
  const proc = spawnCollecting(command, { cwd: clone, env: proxyEnv });
  started.push(proc);
  return proc;
}

beforeAll(async () => {
  database = await createTestDatabase();
  await grantProxyRole(database.sql, PROXY_ROLE);
  const url = new URL(database.url);
  url.username = PROXY_ROLE;
  url.password = PROXY_ROLE;
  proxyUrl = url.toString();
  adminPort = await freePort();

  chmodSync(root, 0o755);
  mkdirSync(clone, { mode: 0o755 });
  chmodSync(clone, 0o755);
  chownSync(snapshotDir, NOBODY, NOBODY);
  chmodSync(snapshotDir, 0o750);
  // .env as `npm run up` writes it and the installer leaves it: everything, its owner's alone.
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: secretKey,
    PIER_ADMIN_TOKEN: adminToken,
    PIER_PROXY_KEY: randomBytes(32).toString('base64'),
    PIER_PROXY_DATABASE_URL: proxyUrl,
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_LOG_FORMAT: 'json',
    PIER_PROXY_HOST: '127.0.0.1',
    PIER_HTTP_PORT: String(await freePort()),
    PIER_HTTPS_PORT: String(await freePort()),
    PIER_PROXY_ADMIN_PORT: String(adminPort),
    PIER_PROXY_SNAPSHOT: join(snapshotDir, 'routes.json'),
    PIER_IMAGE_NODE: 'node:20-bookworm-slim',
  };
  writeFileSync(
    dotEnv,
    Object.entries(env)
      .map(([name, value]) => `${name}=${value}\n`)
      .join(''),
    { mode: 0o600 },
  );

  const units = join(root, 'units');
  await runFile('bash', [join(REPO_ROOT, 'scripts/install-service.sh'), '--env-file', dotEnv, '--render', units]);
  proxyEnv = parseEnvironmentFile(readFileSync(join(units, 'proxy.env'), 'utf8'));
  // Then a line the proxy would refuse to start with: whoever reads .env after this cannot start.
  writeFileSync(dotEnv, 'PIER_PROXY_MAX_TUNNELS=read-from-dotenv\n', { flag: 'a' });
}, 60_000);

afterAll(async () => {
  for (const proc of started) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) continue;
    signalGroup(proc, 'SIGTERM');
    await exitWithin(proc, 20_000).catch(() => {
      signalGroup(proc, 'SIGKILL');
      return proc.exited;
    });
  }
  await database?.destroy();
  rmSync(root, { recursive: true, force: true });
  rmSync(snapshotDir, { recursive: true, force: true });
}, 60_000);

describe('the proxy as its own user, with its own environment file', () => {
  it('holds only its own variables: its key and role, none of .env’s secrets', () => {
    expect(proxyEnv.DATABASE_URL).toBe(proxyUrl);
    expect(proxyEnv.PIER_PROXY_DATABASE_URL).toBe(proxyUrl);
    for (const name of ['PIER_SECRET_KEY', 'PIER_ADMIN_TOKEN', 'PIER_IMAGE_NODE']) expect(proxyEnv[name], name).toBeUndefined();
    const values = Object.values(proxyEnv).join('\n');
    for (const secret of [secretKey, adminToken, database.url]) expect(values).not.toContain(secret);
  });

  it('starts, connects as its own role and writes its snapshots, without reading .env', async () => {
    const proxy = startProxy(NOBODY);
    await waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${proxy.output()}`);
    });

    // .env is not the proxy's to read.
    const read = await runFile('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'cat', dotEnv]).then(
      () => 'read',
      (err: { stderr: string }) => err.stderr,
    );
    expect(read).toMatch(/Permission denied/);

    // Its process holds the rendered environment and nothing of .env's.
    const environ = readFileSync(`/proc/${proxy.child.pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`DATABASE_URL=${proxyUrl}`);
    const ownerPassword = new URL(database.url).password;
    for (const secret of [secretKey, adminToken, `:${ownerPassword}@`]) expect(environ.join('\n')).not.toContain(secret);

    // Pier's database, as the role that reads only routes and certificates.
    const roles = async () =>
      (
        await database.sql<{ usename: string }[]>`
          select usename from pg_stat_activity where application_name = 'pier-proxy' and datname = ${database.name}`
      ).map((row) => row.usename);
    await expect.poll(roles, { timeout: 15_000 }).toContain(PROXY_ROLE);
    expect(new Set(await roles())).toEqual(new Set([PROXY_ROLE]));

    // Its snapshot directory is its own (the installer makes it pier-proxy's).
    const snapshot = join(snapshotDir, 'routes.json');
    await expect.poll(() => existsSync(snapshot), { timeout: 15_000 }).toBe(true);
    expect(statSync(snapshot).uid).toBe(NOBODY);

    expect(proxy.child.exitCode).toBeNull();
    expect(proxy.output()).not.toMatch(/invalid configuration|given secrets|can read every table/);
    signalGroup(proxy, 'SIGTERM');
    expect(await exitWithin(proxy, 20_000)).toBe(0);
  }, 90_000);

  it('run by the owner of .env (as both units ran as pier before), the same process reads it', async () => {
    const proxy = startProxy(0);
    expect(await exitWithin(proxy, 30_000)).toBe(78);
    expect(proxy.output()).toMatch(/invalid configuration[\s\S]*PIER_PROXY_MAX_TUNNELS/);
  }, 60_000);
});
