import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';

/**
 * `/ready` is open to anyone: it says which dependency failed, never the
 * driver's error (hosts, ports, users); the error goes to the api's log.
 */

let database: TestDatabase;
let api: RunningProcess | undefined;
let apiPort: number;
let redisPort: number;

beforeAll(async () => {
  database = await createTestDatabase();
  [apiPort, redisPort] = [await freePort(), await freePort()];
  api = startScript('apps/api/src/main.ts', {
    DATABASE_URL: database.url,
    // Nothing listens there: every readiness check of Redis fails with the driver's error.
    REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
    PIER_SECRET_KEY: randomBytes(32).toString('base64'),
    PIER_ADMIN_TOKEN: randomBytes(32).toString('hex'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_API_PORT: String(apiPort),
    PIER_LOG_FORMAT: 'json',
  });
  await waitForHttp(`http://127.0.0.1:${apiPort}/health`);
}, 60_000);

afterAll(async () => {
  if (api && api.child.exitCode === null && api.child.signalCode === null) {
    signalGroup(api, 'SIGTERM');
    await exitWithin(api, 10_000).catch(() => signalGroup(api as RunningProcess, 'SIGKILL'));
  }
  await database?.destroy();
});

describe('/ready of the real api process with Redis down', () => {
  it('answers 503 naming the failed dependency only; the error is in the log', async () => {
    const res = await waitForHttp(`http://127.0.0.1:${apiPort}/ready`, 503);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ status: 'unavailable', checks: { postgres: 'ok', redis: 'unreachable' } });
    expect(body).not.toContain(String(redisPort));
    expect(body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stream|connect/i);
    await expect
      .poll(() => api?.output() ?? '', { timeout: 5000 })
      .toMatch(/"check":"redis".*"msg":"readiness check failed"|"msg":"readiness check failed".*"check":"redis"/);
  });
});
