import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type LogDrainRow, SEALED_COLUMNS, type Stores, scrubbed } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** The drain store on a real Postgres: what the forwarder relies on. */
let database: TestDatabase;
let stores: Stores;
const key = randomBytes(32);
let appId: string;
let environmentIds: string[];
const PASSWORD = 'drain-password-0123456789';

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(key));
  appId = (await stores.apps.create({ name: 'shop', webhookSecret: 'w'.repeat(32) })).id;
  const otherApp = (await stores.apps.create({ name: 'other', webhookSecret: 'w'.repeat(32) })).id;
  const rows = await database.sql<{ id: string; app_id: string }[]>`select id, app_id from environments order by name`;
  environmentIds = rows.filter((r) => r.app_id === appId).map((r) => r.id);
  // Lines of another app, between this app's, are never a drain's.
  await lines(rows.find((r) => r.app_id === otherApp)?.id as string, 'other', 5);
});
afterAll(async () => database?.destroy());

/** Stores `count` lines in `environmentId`, as if stored two seconds ago (past the drains' one-second guard). */
async function lines(environmentId: string, prefix: string, count: number, settled = true): Promise<void> {
  await stores.logs.append(
    Array.from({ length: count }, (_, i) => ({
      environmentId,
      at: new Date(),
      source: 'replica',
      processType: 'web',
      replica: 'c',
      releaseId: null,
      stream: 'stdout' as const,
      line: `${prefix} ${i}`,
    })),
  );
  if (settled)
    await database.sql`update log_lines set stored_at = now() - interval '2 seconds' where stored_at > now() - interval '2 seconds'`;
}

async function drain(name: string): Promise<LogDrainRow> {
  return stores.logDrains.create({
    appId,
    name,
    kind: 'https',
    config: { url: `https://ci:${PASSWORD}@logs.example.com/in`, headers: { Authorization: 'Bearer header-secret' } },
    target: 'https://logs.example.com:443',
  });
}

describe('LogDrainStore', () => {
  it('starts a drain at the newest line, then gives its app’s lines of every environment in id order', async () => {
    await lines(environmentIds[0] as string, 'before', 3);
    const row = await drain('a');
    expect(await stores.logDrains.pending(row.id, 100)).toEqual([]);
    await lines(environmentIds[0] as string, 'prod', 2);
    await lines(environmentIds[1] as string, 'staging', 2);
    const pending = await stores.logDrains.pending(row.id, 100);
    expect(pending.map((l) => l.line)).toEqual(['prod 0', 'prod 1', 'staging 0', 'staging 1']);
    expect(pending.map((l) => l.id)).toEqual([...pending.map((l) => l.id)].sort((a, b) => a - b));
    expect(pending[0]).toMatchObject({ appName: 'shop', envName: expect.any(String), stream: 'stdout' });
    expect((await stores.logDrains.pending(row.id, 3)).map((l) => l.line)).toEqual(['prod 0', 'prod 1', 'staging 0']);
  });

  it('leaves lines stored less than a second ago for the next pass', async () => {
    const row = await drain('fresh');
    await lines(environmentIds[0] as string, 'new', 2, false);
    expect(await stores.logDrains.pending(row.id, 100)).toEqual([]);
    await database.sql`update log_lines set stored_at = now() - interval '2 seconds'`;
    expect(await stores.logDrains.pending(row.id, 100)).toHaveLength(2);
  });

  it('advances the cursor (never back), counts what was delivered, and clears a failure', async () => {
    const row = await drain('b');
    await lines(environmentIds[0] as string, 'x', 4);
    const pending = await stores.logDrains.pending(row.id, 100);
    expect(await stores.logDrains.failing(row, 'connect ECONNREFUSED')).toBe(true);
    expect(await stores.logDrains.failing(row, 'connect ECONNREFUSED again')).toBe(false);
    await stores.logDrains.advance(row.id, pending[2]?.id as number, 3);
    await stores.logDrains.advance(row.id, pending[0]?.id as number, 0);
    expect((await stores.logDrains.pending(row.id, 100)).map((l) => l.line)).toEqual(['x 3']);
    const [view] = (await stores.logDrains.list(appId)).filter((d) => d.name === 'b');
    expect(view).toMatchObject({ delivered: 3, lagLines: 1, failingSince: null, lastError: null });
    expect(await stores.logDrains.failing(row, 'down again')).toBe(true);
  });

  it('skips a drain further behind than its buffer to its newest lines, counting the rest dropped', async () => {
    const row = await drain('c');
    await lines(environmentIds[0] as string, 'burst', 25);
    expect(await stores.logDrains.skipAhead(row.id, 30)).toBe(0);
    expect(await stores.logDrains.skipAhead(row.id, 10)).toBe(15);
    expect((await stores.logDrains.pending(row.id, 100)).map((l) => l.line)).toEqual(
      Array.from({ length: 10 }, (_, i) => `burst ${15 + i}`),
    );
    const [view] = (await stores.logDrains.list(appId)).filter((d) => d.name === 'c');
    expect(view).toMatchObject({ dropped: 15, lagLines: 10 });
  });

  it('keeps the error it shows free of the URL’s secrets and the headers’ values', async () => {
    const row = await drain('d');
    await stores.logDrains.failing(
      row,
      `request to https://ci:${PASSWORD}@logs.example.com/in failed; auth Bearer header-secret`,
    );
    const [view] = (await stores.logDrains.list(appId)).filter((d) => d.name === 'd');
    expect(view?.lastError).toBe('request to *** failed; auth ***');
    expect(scrubbed(`user ci pass ${encodeURIComponent(PASSWORD)}`, { url: `https://ci:${PASSWORD}@h/` })).not.toContain(
      PASSWORD,
    );
    const [sealed] = await database.sql`select config_ciphertext as c from log_drains where name = 'd'`;
    expect(String(sealed?.c)).not.toContain(PASSWORD);
    expect(stores.logDrains.config(row).url).toContain(PASSWORD);
  });

  it('is re-sealed under a rotated key (the secret re-sealer knows the column), then opens with the new key alone', async () => {
    await database.sql`delete from log_drains`; // an app holds at most 5
    const row = await drain('rotated');
    const newKey = randomBytes(32);
    const rotated = createStores(database.db, new SecretBox(newKey, [key]));
    const column = SEALED_COLUMNS.find((c) => c.label === 'log_drains.config');
    expect(column).toBeDefined();
    const batch = await rotated.sealedValues.resealBatch(column as NonNullable<typeof column>, null, 100);
    expect(batch).toMatchObject({ resealed: batch.seen, unreadable: 0 });
    expect(batch.seen).toBeGreaterThan(0);
    const [resealed] = await database.sql<
      LogDrainRow[]
    >`select id, key_id as "keyId", config_ciphertext as "configCiphertext" from log_drains where name = 'rotated'`;
    const opened = createStores(database.db, new SecretBox(newKey)).logDrains.config({ ...row, ...(resealed as LogDrainRow) });
    expect(opened.url).toContain(PASSWORD);
    expect(() => stores.logDrains.config({ ...row, ...(resealed as LogDrainRow) })).toThrow();
  });
});
