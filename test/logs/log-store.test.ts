import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, LOGS_CHANNEL, type LogStore, listenTo, type NewLogLine } from '@pier/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** The log store against a real Postgres: batches, usage, filters, cursors and retention by age and size. */

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
let logs: LogStore;
beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  logs = stores.logs;
});
afterAll(async () => database?.destroy());

async function newEnvironment(name: string) {
  const app = await stores.apps.create({ name, webhookSecret: 'x'.repeat(40) });
  return stores.environments.get(app.id, 'production');
}

function line(environmentId: string, text: string, extra: Partial<NewLogLine> = {}): NewLogLine {
  return {
    environmentId,
    at: new Date(),
    source: 'replica',
    processType: 'web',
    replica: 'pier-shop-production-v1-aaaaaa',
    releaseId: null,
    stream: 'stdout',
    line: text,
    ...extra,
  };
}

async function storedBytes(environmentId: string): Promise<number> {
  const rows = await database.db.execute<{ b: string }>(
    sql`select coalesce(sum(octet_length(line)), 0) as b from log_lines where environment_id = ${environmentId}`,
  );
  return Number((rows as unknown as { b: string }[])[0]?.b);
}

describe('LogStore', () => {
  it('stores a batch in order with the release version, counts its bytes and lines, and NOTIFYs the environment', async () => {
    const env = await newEnvironment('batch');
    const release = await stores.releases.create({
      environmentId: env.id,
      imageId: 'sha256:abc',
      imageRef: 'pier/batch:1',
      config: {},
      configVersion: 1,
      replicas: 1,
      health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
    });
    const notified: string[] = [];
    const seen = new Promise<void>((resolve) => {
      const stop = listenTo(
        database.sql,
        LOGS_CHANNEL,
      )(() => {
        notified.push('x');
        stop();
        resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the LISTEN is made before the batch
    await logs.append([
      line(env.id, 'héllo', { releaseId: release.id }),
      line(env.id, 'a\0b', { stream: 'stderr' }),
      line(env.id, 'third'),
    ]);
    await seen;
    const rows = await logs.read({ environmentId: env.id, limit: 10, order: 'asc' });
    expect(rows.map((r) => r.line)).toEqual(['héllo', 'ab', 'third']);
    expect(rows[0]?.releaseVersion).toBe(release.version);
    expect(rows[1]?.stream).toBe('stderr');
    const ids = rows.map((r) => r.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const usage = await logs.usage(env.id);
    expect(usage).toMatchObject({ bytes: Buffer.byteLength('héllo') + 2 + 5, lines: 3 });
    expect(notified.length).toBe(1);
  });

  it('filters by time, text (literally, case-insensitive), process type, replica and id; tails the newest', async () => {
    const env = await newEnvironment('filters');
    const t0 = Date.now() - 60_000;
    await logs.append([
      line(env.id, 'GET /a 200', { at: new Date(t0) }),
      line(env.id, 'discount 100% off', { at: new Date(t0 + 1000), processType: 'worker', replica: 'w1' }),
      line(env.id, 'discount 100 off', { at: new Date(t0 + 2000) }),
      line(env.id, 'GET /B 500', { at: new Date(t0 + 3000) }),
    ]);
    const read = (q: Partial<Parameters<LogStore['read']>[0]>) =>
      logs.read({ environmentId: env.id, limit: 100, order: 'asc', ...q }).then((rows) => rows.map((r) => r.line));
    expect(await read({ text: '100%' })).toEqual(['discount 100% off']);
    expect(await read({ text: 'get /b' })).toEqual(['GET /B 500']);
    expect(await read({ text: '_' })).toEqual([]);
    expect(await read({ processType: 'worker' })).toEqual(['discount 100% off']);
    expect(await read({ replica: 'w1' })).toEqual(['discount 100% off']);
    expect(await read({ since: new Date(t0 + 1000), until: new Date(t0 + 2000) })).toEqual([
      'discount 100% off',
      'discount 100 off',
    ]);
    expect(await read({ order: 'desc', limit: 2 })).toEqual(['discount 100 off', 'GET /B 500']);
    const [first] = await logs.read({ environmentId: env.id, limit: 1, order: 'asc' });
    expect(await read({ after: first?.id ?? 0, limit: 1 })).toEqual(['discount 100% off']);
  });

  it('saves cursors with their lines and remembers finished containers', async () => {
    const env = await newEnvironment('cursors');
    await logs.append(
      [line(env.id, 'one')],
      [{ containerId: 'c1', environmentId: env.id, since: '2026-01-01T00:00:00.123456789Z' }],
    );
    await logs.append([], [{ containerId: 'c2', environmentId: env.id, since: null }]);
    expect((await logs.openCursors()).get('c1')?.since).toBe('2026-01-01T00:00:00.123456789Z');
    await logs.append([], [{ containerId: 'c1', environmentId: env.id, since: null, finished: true }]);
    expect((await logs.openCursors()).has('c1')).toBe(false);
    expect(await logs.finishedContainers(['c1', 'c2'])).toEqual(new Set(['c1']));
  });

  it('leaves out the lines and cursors of an environment deleted meanwhile and stores the rest of the batch', async () => {
    const env = await newEnvironment('kept');
    const app = await stores.apps.create({ name: 'gone', webhookSecret: 'x'.repeat(40) });
    const gone = await stores.environments.create(app.id, 'qa', {});
    await stores.environments.delete(app.id, 'qa');
    await logs.append(
      [line(gone.id, 'orphan'), line(env.id, 'still here'), line(gone.id, 'orphan too')],
      [
        { containerId: 'gone-1', environmentId: gone.id, since: '2026-01-01T00:00:00Z', finished: true },
        { containerId: 'kept-1', environmentId: env.id, since: '2026-01-01T00:00:01Z' },
      ],
    );
    expect((await logs.read({ environmentId: env.id, limit: 10, order: 'asc' })).map((r) => r.line)).toEqual(['still here']);
    expect((await logs.read({ environmentId: gone.id, limit: 10, order: 'asc' })).length).toBe(0);
    expect((await logs.openCursors()).get('kept-1')?.since).toBe('2026-01-01T00:00:01Z');
    expect(await logs.finishedContainers(['gone-1'])).toEqual(new Set());
  });

  it('retention removes lines past the age limit, then the oldest lines once an environment is above its size cap', async () => {
    const env = await newEnvironment('retained');
    const other = await newEnvironment('untouched');
    const old = new Date(Date.now() - 10 * 86_400_000);
    await logs.append([line(env.id, 'ancient', { at: old }), line(other.id, 'ancient too', { at: old })]);
    const kib = 'x'.repeat(1023);
    const batch = Array.from({ length: 300 }, (_, i) => line(env.id, `${String(i).padStart(4, '0')}${kib}`.slice(0, 1024)));
    await logs.append(batch);
    // The environment keeps 3 days and 0.25 MB (256 lines of 1 KiB); the other the defaults.
    await logs.setRetention(env.id, 3, null);
    await database.db.execute(sql`update log_usage set retention_mb = 0 where environment_id = ${env.id}`);
    const result = await logs.retain({ maxAgeDays: 30, maxBytes: 256 * 1024 });
    expect(result.byAge).toBe(1);
    const kept = await logs.read({ environmentId: env.id, limit: 1000, order: 'asc' });
    // retention_mb = 0 overrides the default: everything goes.
    expect(kept).toHaveLength(0);
    expect(await logs.usage(env.id)).toMatchObject({ bytes: 0, lines: 0 });
    expect((await logs.read({ environmentId: other.id, limit: 10, order: 'asc' })).map((r) => r.line)).toEqual(['ancient too']);

    await logs.setRetention(env.id, null, null);
    await logs.append(batch);
    const capped = await logs.retain({ maxAgeDays: 30, maxBytes: 256 * 1024 });
    const rest = await logs.read({ environmentId: env.id, limit: 1000, order: 'asc' });
    expect(capped.bySize).toBe(300 - 256);
    expect(rest).toHaveLength(256);
    // The oldest went: the first kept is line 44 of the batch.
    expect(rest[0]?.line.slice(0, 4)).toBe('0044');
    const usage = await logs.usage(env.id);
    expect(usage.bytes).toBe(await storedBytes(env.id));
    expect(usage.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(usage.lines).toBe(256);
  });

  it('a drain of the app counts lines retention removed before it sent them as dropped', async () => {
    const env = await newEnvironment('drained');
    const old = new Date(Date.now() - 10 * 86_400_000);
    await logs.append(Array.from({ length: 5 }, (_, i) => line(env.id, `old ${i}`, { at: old })));
    const [first] = await logs.read({ environmentId: env.id, limit: 1, order: 'asc' });
    const insertDrain = (name: string, cursor: number) =>
      database.db.execute(sql`insert into log_drains (app_id, name, kind, config_ciphertext, key_id, target, cursor)
        values (${env.appId}, ${name}, 'https', 'x', 'x', 'https://logs.example:443', ${cursor})`);
    // One drain sent none of them, one sent the first two.
    await insertDrain('behind', 0);
    await insertDrain('ahead', (first?.id ?? 0) + 1);
    await logs.retain({ maxAgeDays: 3, maxBytes: 1024 * 1024 });
    const rows = await database.db.execute<{ name: string; dropped: string }>(
      sql`select name, dropped from log_drains where app_id = ${env.appId} order by name`,
    );
    expect((rows as unknown as { name: string; dropped: string }[]).map((r) => [r.name, Number(r.dropped)])).toEqual([
      ['ahead', 3],
      ['behind', 5],
    ]);
  });
});
