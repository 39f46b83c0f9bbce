import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type Stores } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostAlertWatch } from '../../apps/worker/src/events/host-alerts.ts';
import { readHostSample } from '../../apps/worker/src/events/host-sample.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The worker's host alert pass on this machine's real disks and memory and a
 * real Postgres: thresholds set low make disk and memory fire once (not on
 * every pass), set high make them clear; one worker at a time.
 */

let database: TestDatabase;
let stores: Stores;
const logger = createLogger({ name: 'test', level: 'silent', format: 'json' });

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
});
afterAll(async () => database?.destroy());

function watch(diskPercent: number, memoryAvailablePercent: number, holder = 'worker-a'): HostAlertWatch {
  return new HostAlertWatch({
    stores,
    logger,
    holder,
    sample: () => readHostSample(),
    thresholds: { diskPercent, memoryAvailablePercent, memorySamples: 2 },
  });
}

async function hostEvents() {
  return (await stores.events.list({ appId: null, limit: 50 })).events.reverse();
}

describe('host alerts', () => {
  it('a disk above a low threshold fires once and clears when the threshold is raised', async () => {
    const sample = await readHostSample();
    expect(sample.disks[0]?.name).toBe('/');
    expect(sample.disks[0]?.totalBytes).toBeGreaterThan(0);

    const low = watch(1, 1);
    expect(await low.pass()).toBe(1);
    expect(await low.pass()).toBe(0);
    const fired = await hostEvents();
    expect(fired.map((e) => e.kind)).toEqual(['host.disk']);
    expect(fired[0]?.message).toMatch(/^Disk \/ is [\d.]+% full \([\d.]+ GiB free of [\d.]+ GiB\), above the threshold of 1%\.$/);
    expect(fired[0]?.severity).toBe('critical');

    const high = watch(100, 1);
    expect(await high.pass()).toBe(1);
    expect(await high.pass()).toBe(0);
    const events = await hostEvents();
    expect(events.map((e) => e.kind)).toEqual(['host.disk', 'host.recovered']);
    expect(events[1]?.message).toMatch(/^Disk \/ is [\d.]+% full .*, back below 100%\.$/);
  });

  it('memory pressure fires after two low samples in a row, and clears', async () => {
    // Below 99 % available: "low" on any machine that runs anything.
    const pressed = watch(100, 99);
    expect(await pressed.pass()).toBe(0);
    expect(await pressed.pass()).toBe(1);
    expect(await pressed.pass()).toBe(0);
    const relaxed = watch(100, 1);
    expect(await relaxed.pass()).toBe(1);
    const kinds = (await hostEvents()).map((e) => e.kind);
    expect(kinds.slice(-2)).toEqual(['host.memory', 'host.recovered']);
    expect(kinds.filter((k) => k === 'host.memory')).toHaveLength(1);
  });

  it('runs in one worker at a time: another holder records nothing while the lease is held', async () => {
    const before = (await hostEvents()).length;
    expect(await watch(1, 99, 'worker-b').pass()).toBe(0);
    expect(await watch(1, 99, 'worker-b').pass()).toBe(0);
    expect((await hostEvents()).length).toBe(before);
  });

  it('writes the state only once the event is in the log: a failed recording is retried by the next pass, once', async () => {
    const full = async () => ({
      memoryTotalBytes: 16e9,
      memoryAvailableBytes: 8e9,
      disks: [{ name: '/flaky', totalBytes: 100e9, freeBytes: 5e9 }],
    });
    let failing = true;
    const flakyEvents = {
      record: async () => null,
      recordOrThrow: async (event: Parameters<Stores['events']['record']>[0]) => {
        if (failing) throw new Error('the database is gone');
        return stores.events.recordOrThrow(event);
      },
    } as unknown as Stores['events'];
    const thresholds = { diskPercent: 90, memoryAvailablePercent: 10, memorySamples: 2 };
    const flaky = new HostAlertWatch({
      stores: { ...stores, events: flakyEvents },
      logger,
      holder: 'worker-a',
      sample: full,
      thresholds,
    });
    await expect(flaky.pass()).rejects.toThrow('the database is gone');
    failing = false;
    expect(await flaky.pass()).toBe(1);
    expect(await flaky.pass()).toBe(0);
    const disk = (await hostEvents()).filter((e) => (e.data as { disk?: string }).disk === '/flaky');
    expect(disk.map((e) => e.kind)).toEqual(['host.disk']);
  });
});
