import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type Stores, schema } from '@pier/db';
import { createLogger } from '@pier/log';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunExecutor } from '../../apps/worker/src/runs/run-executor.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { makeLive } from '../support/live-release.ts';
import { MemoryNetworks } from '../support/memory-networks.ts';
import { MemoryWorkload } from '../support/memory-workload.ts';

/**
 * The run executor's hold on a run, over real Postgres with the in-memory
 * Workload fake: a worker whose clock is behind keeps its run (the lock is
 * by Postgres's clock), and a worker that lost its run to another stops its
 * container and leaves the other's result as it is.
 */

const POLL = { timeout: 10_000, interval: 50 };

let database: TestDatabase;
let stores: Stores;
let workload: MemoryWorkload;
let appId: string;
let environmentId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  workload = new MemoryWorkload({
    graceScale: 0.01,
    programs: { 'img-short': { exitAfterMs: 1500, exitCode: 0 }, 'img-long': {} },
  });
  const app = await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
  appId = app.id;
  environmentId = (await stores.environments.get(app.id, 'production')).id;
});

afterAll(async () => {
  workload?.close();
  await database?.destroy();
});

async function live(imageId: string): Promise<void> {
  const release = await stores.releases.create({
    environmentId,
    imageId,
    imageRef: `pier/shop:${imageId}`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
  });
  await makeLive(database.db, environmentId, release.id, []);
}

function executor(holder: string): RunExecutor {
  return new RunExecutor({
    stores,
    workload,
    networks: new MemoryNetworks(),
    instance: 'run-executor-test',
    logger: createLogger({ name: 'worker', level: 'silent', format: 'json' }),
    holder,
    leaseMs: 600,
    pollIntervalMs: 100,
  });
}

const queue = (command: string) =>
  stores.runs.create({ appId, environmentId, kind: 'run', command, timeoutSeconds: 60, startedBy: 't' });

describe('the run executor', () => {
  it('keeps a run while its clock is an hour behind Postgres’s: another worker does not fail it', async () => {
    await live('img-short');
    const run = await queue('short');
    const worker = executor('behind');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3600_000);
    worker.start();
    try {
      // Another worker looks for expired locks while the run runs (1.5 s: several renewals of a 600 ms lease).
      await expect
        .poll(async () => {
          await stores.runs.failExpired('expired');
          return (await stores.runs.get(run.id)).state;
        }, POLL)
        .toBe('succeeded');
    } finally {
      await worker.stop();
      vi.useRealTimers();
    }
  });

  it('stops the container of a run it lost to another worker, and leaves that worker’s result', async () => {
    await live('img-long');
    const run = await queue('long');
    const worker = executor('slow');
    worker.start();
    try {
      await expect.poll(async () => (await stores.runs.get(run.id)).containerId, POLL).toBeTruthy();
      const { containerId } = await stores.runs.get(run.id);
      // Its lock ran out (as if it had not renewed in time) and another worker failed it.
      await database.db
        .update(schema.runs)
        .set({ lockedUntil: sql`now() - interval '1 second'` })
        .where(eq(schema.runs.id, run.id));
      expect((await stores.runs.failExpired('taken over')).map((r) => r.id)).toEqual([run.id]);
      await expect.poll(() => worker.running, POLL).toBe(0);
      expect(workload.instances().find((i) => i.id === containerId)?.removed).toBe(true);
      expect(await stores.runs.get(run.id)).toMatchObject({ state: 'failed', reason: 'taken over' });
    } finally {
      await worker.stop();
    }
  });
});
