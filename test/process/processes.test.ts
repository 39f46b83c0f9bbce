import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';

let migrated: TestDatabase;
let empty: TestDatabase;
const running: RunningProcess[] = [];

beforeAll(async () => {
  [migrated, empty] = await Promise.all([createTestDatabase(), createTestDatabase({ empty: true })]);
});
afterEach(async () => {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) signalGroup(proc, 'SIGKILL');
    await proc.exited;
  }
});
afterAll(async () => {
  await Promise.all([migrated?.destroy(), empty?.destroy()]);
});

function baseEnv(databaseUrl: string) {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: randomBytes(32).toString('base64'),
    PIER_PROXY_KEY: randomBytes(32).toString('base64'),
    PIER_ADMIN_TOKEN: randomBytes(32).toString('hex'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_LOG_FORMAT: 'json',
  };
}

function start(path: string, env: Record<string, string>, args: string[] = []): RunningProcess {
  const proc = startScript(path, env, args);
  running.push(proc);
  return proc;
}

describe('process start-up', () => {
  it('refuses to start with missing config, listing every problem, and exits non-zero', async () => {
    const proc = start('apps/api/src/main.ts', { PIER_API_PORT: 'x' });
    expect(await exitWithin(proc, 15_000)).toBe(78);
    const output = proc.output();
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'PIER_SECRET_KEY',
      'PIER_BASE_DOMAIN',
      'PIER_ADMIN_TOKEN',
      'PIER_API_PORT',
    ]) {
      expect(output).toContain(`  - ${name}: `);
    }
  });

  it.each([
    ['worker', 'PIER_SECRET_KEY'],
    ['proxy', 'PIER_PROXY_KEY'],
  ])('the %s also fails fast on bad config (a short %s)', async (name, key) => {
    const proc = start(`apps/${name}/src/main.ts`, { ...baseEnv(migrated.url), [key]: 'c2hvcnQ=' });
    expect(await exitWithin(proc, 15_000)).toBe(78);
    expect(proc.output()).toContain(`pier ${name}: invalid configuration (1 problem)`);
  });

  it('refuses an unmigrated database with a clear message, then starts once `migrate` has run', async () => {
    const env = { ...baseEnv(empty.url), PIER_API_PORT: String(await freePort()) };
    const refused = start('apps/api/src/main.ts', env);
    expect(await exitWithin(refused, 15_000)).toBe(1);
    expect(refused.output()).toMatch(/database is not migrated: (\d+) of \1 migrations are pending .*npm run migrate/);

    const migrate = start('apps/api/src/main.ts', { DATABASE_URL: empty.url, PIER_LOG_FORMAT: 'json' }, ['migrate']);
    expect(await exitWithin(migrate, 20_000)).toBe(0);
    expect(migrate.output()).toContain('migrations applied');

    const again = start('apps/api/src/main.ts', { DATABASE_URL: empty.url, PIER_LOG_FORMAT: 'json' }, ['migrate']);
    expect(await exitWithin(again, 20_000)).toBe(0);
    expect(again.output()).toContain('database is up to date');

    const api = start('apps/api/src/main.ts', env);
    await waitForHttp(`http://127.0.0.1:${env.PIER_API_PORT}/health`);
    signalGroup(api, 'SIGTERM');
    expect(await exitWithin(api, 10_000)).toBe(0);
  });

  it('refuses a database that newer code migrated (an old build after a pull), naming the way out', async () => {
    const ahead = await createTestDatabase();
    try {
      const db = postgres(ahead.url, { max: 1 });
      await db`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-newer-code', ${Date.now() + 86_400_000})`;
      await db.end();
      const refused = start('apps/api/src/main.ts', { ...baseEnv(ahead.url), PIER_API_PORT: String(await freePort()) });
      expect(await exitWithin(refused, 15_000)).toBe(1);
      expect(refused.output()).toMatch(/database has migrations newer than this code knows.*npm run build/);
    } finally {
      await ahead.destroy();
    }
  });

  it('serves /health and a green /ready, and a SIGTERM stops it cleanly', async () => {
    const env = { ...baseEnv(migrated.url), PIER_API_PORT: String(await freePort()) };
    const api = start('apps/api/src/main.ts', env);
    await waitForHttp(`http://127.0.0.1:${env.PIER_API_PORT}/health`);
    const ready = await waitForHttp(`http://127.0.0.1:${env.PIER_API_PORT}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    const unauthenticated = await fetch(`http://127.0.0.1:${env.PIER_API_PORT}/apps`);
    expect(unauthenticated.status).toBe(401);
    const listed = await fetch(`http://127.0.0.1:${env.PIER_API_PORT}/apps`, {
      headers: { authorization: `Bearer ${env.PIER_ADMIN_TOKEN}` },
    });
    expect(listed.status).toBe(200);
    signalGroup(api, 'SIGTERM');
    expect(await exitWithin(api, 10_000)).toBe(0);
    expect(api.output()).not.toContain(env.PIER_ADMIN_TOKEN);
    expect(api.output()).not.toContain(env.PIER_SECRET_KEY);
  });

  it('start-all runs api, worker and proxy, and Ctrl-C stops all three cleanly', async () => {
    const [apiPort, adminPort] = [await freePort(), await freePort()];
    const env = {
      ...baseEnv(migrated.url),
      PIER_API_PORT: String(apiPort),
      PIER_PROXY_ADMIN_PORT: String(adminPort),
      PIER_HTTP_PORT: String(await freePort()),
      PIER_HTTPS_PORT: String(await freePort()),
    };
    const all = start('scripts/start-all.ts', env);
    // Three TypeScript processes load at once, beside the other test files on
    // two cores, and the worker installs its firewall rules first: a minute is
    // what a loaded CI machine needs, not what the processes take alone.
    try {
      await waitForHttp(`http://127.0.0.1:${apiPort}/ready`, 200, 60_000);
      await waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 60_000);
      await expect.poll(() => all.output(), { timeout: 60_000 }).toContain('worker started');
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- start-all output ---\n${all.output()}`);
    }
    signalGroup(all, 'SIGINT');
    expect(await exitWithin(all, 15_000)).toBe(0);
    expect(all.output()).not.toMatch(/second signal|exited \(/);
  }, 200_000);
});
