import { EventStore } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordRetention } from '../../apps/worker/src/record-retention.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** The event log against a real Postgres: recording, de-duplication, paging and retention. */

let database: TestDatabase;
let store: EventStore;
const failures: string[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
  store = new EventStore(database.db, (_error, event) => failures.push(event.kind));
});
afterAll(async () => database?.destroy());

describe('EventStore', () => {
  it('records host events with the severity of their kind, once per dedupe key, and pages newest first', async () => {
    const first = await store.record({ kind: 'host.disk', message: 'disk / is 93% full', dedupeKey: 'disk:/:1' });
    const again = await store.record({ kind: 'host.disk', message: 'disk / is 94% full', dedupeKey: 'disk:/:1' });
    expect(first).toBeTypeOf('number');
    expect(again).toBeNull();
    for (let i = 0; i < 5; i++) await store.record({ kind: 'host.memory', message: `pressure ${i}` });
    const page = await store.list({ appId: null, limit: 4 });
    expect(page.events.map((e) => e.message)).toEqual(['pressure 4', 'pressure 3', 'pressure 2', 'pressure 1']);
    expect(page.events[0]?.severity).toBe('critical');
    const rest = await store.list({ appId: null, limit: 4, before: page.next as number });
    expect(rest.events.map((e) => e.message)).toEqual(['pressure 0', 'disk / is 93% full']);
    expect(rest.next).toBeNull();
    const disk = await store.list({ kinds: ['host.disk'], limit: 10 });
    expect(disk.events).toHaveLength(1);
  });

  it('never fails its caller: a recording that cannot be made is handed to onError', async () => {
    const id = await store.record({ kind: 'deploy.live', message: 'x', appId: '00000000-0000-0000-0000-000000000000' });
    expect(id).toBeNull();
    expect(failures).toEqual(['deploy.live']);
  });

  it('deletes events past retention in batches, on the retention pass of the worker', async () => {
    const old = await store.record({ kind: 'host.memory', message: 'long ago' });
    const older = await store.record({ kind: 'host.memory', message: 'longer ago' });
    await database.sql`update events set created_at = now() - interval '100 days' where id in (${old}, ${older})`;
    const kept = (await store.list({ limit: 100 })).events.length - 2;
    const retention = new RecordRetention({
      deployments: { deleteOldLogs: async () => 0 },
      deliveries: { deleteReceivedBefore: async () => 0 },
      events: store,
      logger: createLogger({ name: 'worker', level: 'silent', format: 'json' }),
      logRetentionDays: 30,
      deliveryRetentionDays: 14,
      batchSize: 1,
    });
    await retention.sweep();
    const left = (await store.list({ limit: 100 })).events;
    expect(left).toHaveLength(kept);
    expect(left.map((e) => e.message)).not.toContain('long ago');
    expect(left.map((e) => e.message)).not.toContain('longer ago');
  });
});
