import { listenTo, OUTBOX_CHANNEL, SERVICE_OPS_CHANNEL } from '@pier/db';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { freePort } from '../support/processes.ts';

/** `listenTo`: the one LISTEN behind the worker's loops and the proxy's feeds, against a real Postgres. */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.destroy());

/** Counts the calls of a subscription. */
function counter() {
  const seen = { calls: 0, errors: [] as unknown[] };
  return { seen, onChange: () => seen.calls++, onError: (err: unknown) => seen.errors.push(err) };
}

describe('listenTo', () => {
  it('calls onChange once the LISTEN is in place and on each NOTIFY of its channel only', async () => {
    const outbox = counter();
    const other = counter();
    const stopOutbox = listenTo(database.sql, OUTBOX_CHANNEL)(outbox.onChange, outbox.onError);
    const stopOther = listenTo(database.sql, SERVICE_OPS_CHANNEL)(other.onChange, other.onError);
    try {
      // Established: one call each, so that what was notified before the LISTEN is loaded anyway.
      await expect.poll(() => [outbox.seen.calls, other.seen.calls]).toEqual([1, 1]);
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, 'a')`;
      await expect.poll(() => outbox.seen.calls).toBe(2);
      await database.sql`select pg_notify(${SERVICE_OPS_CHANNEL}, 'b')`;
      await expect.poll(() => other.seen.calls).toBe(2);
      expect(outbox.seen.calls).toBe(2);
      expect([...outbox.seen.errors, ...other.seen.errors]).toEqual([]);
    } finally {
      stopOutbox();
      stopOther();
    }
  });

  it('calls nothing after the unsubscribe', async () => {
    const gone = counter();
    const witness = counter();
    const unsubscribe = listenTo(database.sql, OUTBOX_CHANNEL)(gone.onChange);
    const stopWitness = listenTo(database.sql, OUTBOX_CHANNEL)(witness.onChange);
    try {
      await expect.poll(() => [gone.seen.calls, witness.seen.calls]).toEqual([1, 1]);
      unsubscribe();
      await database.sql`select pg_notify(${OUTBOX_CHANNEL}, 'after')`;
      // Both listeners share one connection: once the witness has the NOTIFY, the other would have it too.
      await expect.poll(() => witness.seen.calls).toBe(2);
      expect(gone.seen.calls).toBe(1);
    } finally {
      stopWitness();
    }
  });

  it('reports a LISTEN that cannot be made through onError, and nothing through onChange', async () => {
    const port = await freePort(); // nothing listens there
    const unreachable = postgres(`postgres://pier:pier@127.0.0.1:${port}/pier`, { connect_timeout: 2, onnotice: () => {} });
    const refused = counter();
    const unsubscribe = listenTo(unreachable, OUTBOX_CHANNEL)(refused.onChange, refused.onError);
    try {
      await expect.poll(() => refused.seen.errors.length, { timeout: 10_000 }).toBe(1);
      expect(String(refused.seen.errors[0])).toMatch(/ECONNREFUSED|connect/i);
      expect(refused.seen.calls).toBe(0);
    } finally {
      unsubscribe();
      await unreachable.end({ timeout: 0 });
    }
  });
});
