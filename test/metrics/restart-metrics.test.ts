import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { makeLive } from '../support/live-release.ts';

/** Each crash the reconciler records (EnvironmentHealthStore.backoff) counts one restart of the live release, in the same transaction. */

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
let environmentId: string;
let releaseId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const app = await stores.apps.create({ name: 'crashy', webhookSecret: 'x'.repeat(40) });
  const environment = await stores.environments.get(app.id, 'production');
  const release = await stores.releases.create({
    environmentId: environment.id,
    imageId: 'sha256:abc',
    imageRef: 'pier/crashy:1',
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
  });
  await makeLive(database.db, environment.id, release.id, []);
  environmentId = environment.id;
  releaseId = release.id;
});
afterAll(async () => database?.destroy());

describe('restart_metrics', () => {
  it('counts each crash per process type, release and minute, and the out-of-memory kills among them', async () => {
    const crash = (type: string, at: string, oomKilled: boolean) =>
      stores.environmentHealth.backoff(environmentId, type, {
        restartStreak: 1,
        crashedAt: new Date(at),
        nextRestartAt: new Date(at),
        crashLooping: false,
        exit: { at, exitCode: 137, oomKilled, memoryMb: 64, reason: 'out of memory at 64 MiB: raise memoryMb' },
      });
    await crash('web', '2026-05-01T10:00:05Z', false);
    await crash('web', '2026-05-01T10:00:55Z', true);
    await crash('worker', '2026-05-01T10:01:10Z', true);
    const rows = await database.sql<
      { process_type: string; release_id: string; at: string; restarts: number; oom_kills: number }[]
    >`
      select process_type, release_id, to_char(at at time zone 'UTC', 'HH24:MI') as at, restarts, oom_kills
      from restart_metrics where step = 60 order by process_type`;
    expect(rows).toEqual([
      { process_type: 'web', release_id: releaseId, at: '10:00', restarts: 2, oom_kills: 1 },
      { process_type: 'worker', release_id: releaseId, at: '10:01', restarts: 1, oom_kills: 1 },
    ]);
  });
});
