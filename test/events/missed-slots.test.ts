import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type Stores } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissedSlotWatch } from '../../apps/worker/src/events/missed-slot-watch.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The dead man's switch's pass against a real Postgres, its clock given: a
 * volume's backup slot and a cron job's slot that passed with nothing
 * recorded are reported once each; slots a backup or a run was recorded for
 * (a skipped run too) are not; a slot within the grace is not yet; a long
 * stretch is bounded; the first look only starts the watch.
 */

let database: TestDatabase;
let stores: Stores;
let environmentId: string;
const logger = createLogger({ name: 'test', level: 'silent', format: 'json' });
const at = (iso: string) => new Date(iso);
const GRACE_MS = 2 * 60_000;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const app = await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
  const env = await stores.environments.update(app.id, 'production', { replicas: 1 });
  environmentId = env.id;
  const release = await stores.releases.create({
    environmentId,
    imageId: 'sha256:one',
    imageRef: 'pier/shop:one',
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/health', intervalMs: 50, timeoutMs: 500, healthyThreshold: 1, deadlineMs: 1500 },
  });
  const sql = database.sql;
  await sql`update environments set live_release_id = ${release.id}, desired_release_id = ${release.id} where id = ${environmentId}`;
  await sql`insert into volumes (environment_id, name, mount_path, docker_name, backup_schedule, created_at)
    values (${environmentId}, 'data', '/data', 'pier-shop-production-data', '0 * * * *', '2026-01-01T00:00:00Z')`;
  await sql`insert into cron_jobs (environment_id, name, schedule, command, created_at, updated_at)
    values (${environmentId}, 'report', '0 * * * *', '"true"'::jsonb, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`;
});
afterAll(async () => database?.destroy());

function watch(now: string, holder = 'worker-a'): MissedSlotWatch {
  return new MissedSlotWatch({ stores, logger, holder, graceMs: GRACE_MS, now: () => at(now) });
}

async function events() {
  return (await stores.events.list({ limit: 200 })).events.reverse();
}

async function recordBackup(slot: string) {
  await database.sql`insert into volume_backups (volume_id, environment_id, volume_name, trigger, state, scheduled_for)
    select id, environment_id, name, 'scheduled', 'good', ${slot} from volumes where name = 'data'`;
}

async function recordRun(slot: string, state: string) {
  await database.sql`insert into runs (app_id, environment_id, kind, command, timeout_seconds, started_by, state, cron_name, slot)
    select e.app_id, e.id, 'cron', '"true"'::jsonb, 60, 'cron', ${state}, 'report', ${slot}
    from environments e where e.id = ${environmentId}`;
}

describe('missed backup and cron slots', () => {
  it('the first look starts the watch: nothing before it is reported', async () => {
    expect(await watch('2026-03-01T10:30:00Z').pass()).toBe(0);
    expect(await events()).toEqual([]);
  });

  it('reports each slot with nothing recorded once, not those taken (a skipped run counts), not those within the grace', async () => {
    await recordBackup('2026-03-01T11:00:00Z');
    await recordRun('2026-03-01T11:00:00Z', 'succeeded');
    await recordRun('2026-03-01T12:00:00Z', 'skipped');
    // 13:00 is within the grace at 13:01: looked at by a later pass.
    expect(await watch('2026-03-01T13:01:00Z').pass()).toBe(1);
    const [missed] = await events();
    expect(missed).toMatchObject({
      kind: 'backup.missed',
      severity: 'critical',
      envName: 'production',
      message: 'shop production: the scheduled backup of volume data due at 2026-03-01T12:00:00.000Z did not run.',
      data: { volume: 'data', slot: '2026-03-01T12:00:00.000Z' },
    });
    expect(await watch('2026-03-01T13:01:00Z').pass()).toBe(0);

    await recordBackup('2026-03-01T13:00:00Z');
    expect(await watch('2026-03-01T13:05:00Z').pass()).toBe(1);
    const latest = (await events()).at(-1);
    expect(latest).toMatchObject({
      kind: 'cron.missed',
      severity: 'warning',
      data: { cron: 'report', slot: '2026-03-01T13:00:00.000Z' },
    });
    expect(latest?.message).toBe('shop production: cron job report due at 2026-03-01T13:00:00.000Z did not run.');
    expect((await events()).map((e) => e.kind)).toEqual(['backup.missed', 'cron.missed']);
  });

  it('bounds a long stretch: 50 slots one by one, the rest in one event', async () => {
    await database.sql`update volumes set backup_schedule = '* * * * *' where name = 'data'`;
    const before = (await events()).length;
    // From 13:03 (where the last pass stopped) to 15:03 (15:05 less the grace): 120 slots of a minute, none taken.
    expect(await watch('2026-03-01T15:05:00Z').pass()).toBe(53);
    const added = (await events()).slice(before);
    const backups = added.filter((e) => e.kind === 'backup.missed');
    expect(backups).toHaveLength(51);
    expect(backups.at(-1)?.message).toBe(
      'shop production: the scheduled backup of volume data also missed 70 more slots, up to 2026-03-01T15:03:00.000Z.',
    );
    expect(added.filter((e) => e.kind === 'cron.missed').map((e) => (e.data as { slot: string }).slot)).toEqual([
      '2026-03-01T14:00:00.000Z',
      '2026-03-01T15:00:00.000Z',
    ]);
  });

  it('keeps its cursor when a recording fails, so the next pass reports the slot', async () => {
    await database.sql`update volumes set backup_schedule = '0 * * * *' where name = 'data'`;
    const before = (await events()).length;
    let failing = true;
    // As EventStore fails: record swallows the error (null), recordOrThrow throws.
    const flakyEvents = {
      record: async () => null,
      recordOrThrow: async (event: Parameters<Stores['events']['record']>[0]) => {
        if (failing) throw new Error('the database is gone');
        return stores.events.recordOrThrow(event);
      },
    } as unknown as Stores['events'];
    const flaky = new MissedSlotWatch({
      stores: { ...stores, events: flakyEvents },
      logger,
      holder: 'worker-a',
      graceMs: GRACE_MS,
      now: () => at('2026-03-01T16:05:00Z'),
    });
    expect(await flaky.pass()).toBe(0);
    expect((await events()).length).toBe(before);
    failing = false;
    // 15:03 to 16:03 again: the 16:00 backup and cron slots.
    expect(await flaky.pass()).toBe(2);
    expect((await events()).length).toBe(before + 2);
  });

  it('runs in one worker at a time', async () => {
    expect(await watch('2026-03-01T18:00:00Z', 'worker-b').pass()).toBe(0);
  });
});
