import { EventStore } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** The event log against a real Postgres: recording, de-duplication and paging. */

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
});
