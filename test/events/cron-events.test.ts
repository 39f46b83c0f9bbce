import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * `cron.failed` recorded where runs end (RunStore.finish and failExpired)
 * against a real Postgres: a failed cron run once, a lost one too; a cron
 * run that succeeded and a one-off run that failed record nothing.
 */

let database: TestDatabase;
let stores: Stores;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
});
afterAll(async () => database?.destroy());

async function run(kind: 'cron' | 'run', slot: string | null, lockedUntil = "now() + interval '1 minute'"): Promise<string> {
  const [row] = await database.sql<{ id: string }[]>`
    insert into runs (app_id, environment_id, kind, command, timeout_seconds, started_by, state, cron_name, slot, locked_by, locked_until)
    select e.app_id, e.id, ${kind}, '"true"'::jsonb, 60, 'cron', 'running', ${kind === 'cron' ? 'report' : null}, ${slot},
      'worker-a', ${database.sql.unsafe(lockedUntil)}
    from environments e join apps a on a.id = e.app_id where a.name = 'shop' and e.name = 'production' returning id`;
  return row?.id ?? '';
}

async function events() {
  return (await stores.events.list({ limit: 50 })).events.reverse();
}

describe('cron.failed', () => {
  it('records a cron run that failed, once, and nothing for one that succeeded or a one-off run', async () => {
    const failed = await run('cron', '2026-03-01T12:00:00Z');
    const good = await run('cron', '2026-03-01T13:00:00Z');
    const oneOff = await run('run', null);
    expect(
      await stores.runs.finish(failed, { state: 'failed', exitCode: 3, reason: 'exited with code 3 after 0.4 s' }, 'worker-a'),
    ).toBe(true);
    expect(await stores.runs.finish(failed, { state: 'failed', exitCode: 3, reason: 'again' }, 'worker-a')).toBe(false);
    await stores.runs.finish(good, { state: 'succeeded', exitCode: 0, reason: 'exited with code 0' }, 'worker-a');
    await stores.runs.finish(oneOff, { state: 'failed', exitCode: 1, reason: 'exited with code 1' }, 'worker-a');
    const shown = await events();
    expect(shown.map((e) => e.kind)).toEqual(['cron.failed']);
    expect(shown[0]).toMatchObject({
      severity: 'warning',
      envName: 'production',
      message: 'shop production: cron job report of 2026-03-01T12:00:00.000Z failed: exited with code 3 after 0.4 s',
      data: { cron: 'report', runId: failed, exitCode: 3 },
    });
  });

  it('records a cron run whose worker lost its lock', async () => {
    const lost = await run('cron', '2026-03-01T14:00:00Z', "now() - interval '1 second'");
    const failed = await stores.runs.failExpired('its worker stopped renewing its lock');
    expect(failed.map((r) => r.id)).toEqual([lost]);
    const last = (await events()).at(-1);
    expect(last?.message).toBe(
      'shop production: cron job report of 2026-03-01T14:00:00.000Z failed: its worker stopped renewing its lock',
    );
  });
});
