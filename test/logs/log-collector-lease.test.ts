import { randomBytes } from 'node:crypto';
import { type ContainerOperations, SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCollector } from '../../apps/worker/src/logs/log-collector.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { quietLogger } from '../support/quiet-logger.ts';

/** The log collector keeps its lease while a pass is slow (a long container list), on a real Postgres. */

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
});
afterAll(async () => database?.destroy());

const logger = quietLogger();

describe('LogCollector lease', () => {
  it('renews its lease on a beat of its own, so another worker cannot take it while a pass waits on the engine', async () => {
    let release: () => void = () => {};
    const slowList = new Promise<never[]>((resolve) => {
      release = () => resolve([]);
    });
    // The engine answers the first container list only when the test says so: the pass hangs on it.
    const containers = { listContainers: () => slowList } as unknown as ContainerOperations;
    const collector = new LogCollector({
      containers,
      logs: stores.logs,
      leases: stores.leases,
      holder: 'first',
      instance: 'lease-test',
      logger,
      discoverIntervalMs: 60_000,
      leaseMs: 900,
    });
    collector.start();
    try {
      await expect.poll(() => stores.leases.holder('log-collector')).toBe('first');
      // Three lease lengths later the pass is still waiting; the lease must still be the first worker's.
      await new Promise((resolve) => setTimeout(resolve, 2_700));
      expect(await stores.leases.acquire('log-collector', 'second', 900)).toBe(false);
      expect(await stores.leases.holder('log-collector')).toBe('first');
    } finally {
      release();
      await collector.stop();
    }
    // Given up on stop: the next worker takes it at once.
    expect(await stores.leases.acquire('log-collector', 'second', 900)).toBe(true);
  });
});
