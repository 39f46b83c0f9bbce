import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { allocatableBytes, formatBytes } from '@pier/core';
import { schema } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';

/**
 * The capacity guard through the real api process, on this host's real
 * memory: a scale-up past what the host can hold is refused with the figures
 * and changes nothing; a modest one goes through.
 */

let database: TestDatabase;
let api: RunningProcess | undefined;
let base: string;
const token = randomBytes(32).toString('hex');
const MEMORY_TOTAL = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = startScript('apps/api/src/main.ts', {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: randomBytes(32).toString('base64'),
    PIER_ADMIN_TOKEN: token,
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_API_PORT: String(port),
    PIER_LOG_FORMAT: 'json',
    PIER_QUOTA_REPLICAS: '1000', // the quota is not what is tested here
  });
  await waitForHttp(`${base}/health`);
}, 60_000);

afterAll(async () => {
  if (api && api.child.exitCode === null && api.child.signalCode === null) {
    signalGroup(api, 'SIGTERM');
    await exitWithin(api, 10_000).catch(() => signalGroup(api as RunningProcess, 'SIGKILL'));
  }
  await database?.destroy();
});

async function call(method: string, path: string, body?: object): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

describe('PATCH /apps/:app/environments/:env { replicas } through the real api', () => {
  it('refuses a scale-up past the host’s memory with the figures, nothing changed; accepts a modest one and a scale-down', async () => {
    expect((await call('POST', '/apps', { name: 'hungry' })).status).toBe(201);
    const env = (await call('GET', '/apps/hungry/environments/staging')).json;
    // Staging's web replicas at 2 GiB each: 20 of them (the most the API takes) are 40 GiB.
    await database.db.insert(schema.environmentProcesses).values({ environmentId: env.id, type: 'web', memoryMb: 2048 });

    const refused = await call('PATCH', '/apps/hungry/environments/staging', { replicas: 20 });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('conflict');
    const allocatable = formatBytes(allocatableBytes(MEMORY_TOTAL, { reserveBytes: null, overcommit: 1 }));
    expect(refused.json.error.message).toMatch(
      new RegExp(
        `^body\\.replicas: scaling web of hungry-staging from 1 to 20 replicas of 2048 MiB reserves 38\\.0 GiB of memory, ` +
          `but ${allocatable.replace('.', '\\.')} is left: ${allocatable.replace('.', '\\.')} of this host's ${formatBytes(MEMORY_TOTAL).replace('.', '\\.')} ` +
          'is allocatable and 0 MiB is reserved already \\(.* is unused right now\\)\\. Lower replicas or memoryMb, .*or set PIER_CAPACITY_OVERCOMMIT\\.$',
      ),
    );
    expect((await call('GET', '/apps/hungry/environments/staging')).json.replicas).toBe(1);

    const accepted = await call('PATCH', '/apps/hungry/environments/staging', { replicas: 3 });
    expect(accepted.status).toBe(200);
    expect(accepted.json.replicas).toBe(3);
    const down = await call('PATCH', '/apps/hungry/environments/staging', { replicas: 1 });
    expect(down.status).toBe(200);
    expect(down.json.replicas).toBe(1);
  });
});
