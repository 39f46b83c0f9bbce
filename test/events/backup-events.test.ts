import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * Backups' outcomes in the event log, recorded by the stores' updateBackup
 * (where every backup of a volume or a managed service ends) against a real
 * Postgres: good and failed once each, with the app a volume belongs to.
 */

let database: TestDatabase;
let stores: Stores;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
});
afterAll(async () => database?.destroy());

async function kinds() {
  return (await stores.events.list({ limit: 50 })).events.reverse();
}

describe('backup events', () => {
  it("a volume backup's good and failed outcomes are recorded once each, in its app's log", async () => {
    const [backup] = await database.sql<{ id: string }[]>`
      with v as (
        insert into volumes (environment_id, name, mount_path, docker_name)
        select e.id, 'data', '/data', 'pier-shop-production-data' from environments e join apps a on a.id = e.app_id
        where a.name = 'shop' and e.name = 'production' returning id, environment_id, name)
      insert into volume_backups (volume_id, environment_id, volume_name, trigger, state)
      select id, environment_id, name, 'scheduled', 'running' from v returning id`;
    const id = backup?.id ?? '';
    await stores.volumeOperations.updateBackup(id, { state: 'verifying' });
    expect(await kinds()).toEqual([]);
    await stores.volumeOperations.updateBackup(id, { state: 'good', sizeBytes: 2 * 1024 ** 2, finishedAt: new Date() });
    await stores.volumeOperations.updateBackup(id, { state: 'good' });
    await stores.volumeOperations.updateBackup(id, { state: 'failed', error: 'the file changed on disk' });
    const events = await kinds();
    expect(events.map((e) => e.kind)).toEqual(['backup.succeeded', 'backup.failed']);
    expect(events[0]).toMatchObject({
      envName: 'production',
      message: 'shop production: the scheduled backup of volume data is good (2.0 MiB), verified.',
    });
    expect(events[0]?.appId).toBeTypeOf('string');
    expect(events[1]?.message).toBe('shop production: the scheduled backup of volume data failed: the file changed on disk');
  });

  it("a managed service's failed backup is recorded with its cause", async () => {
    const [backup] = await database.sql<{ id: string }[]>`
      with s as (
        insert into managed_services (name, type, version, credentials_ciphertext, key_id, volume_name, image, state)
        values ('orders', 'postgres', '16', 'x', 'k', 'pier-svc-orders', 'pier-local/postgres', 'ready') returning id, name, type, version)
      insert into service_backups (service_id, service_name, service_type, service_version, trigger, state)
      select id, name, type, version, 'manual', 'running' from s returning id`;
    await stores.serviceOperations.updateBackup(backup?.id ?? '', { state: 'failed', error: 'pg_dump exited with code 1' });
    const last = (await kinds()).at(-1);
    expect(last).toMatchObject({
      kind: 'backup.failed',
      severity: 'critical',
      appId: null,
      message: 'the manual backup of managed service orders failed: pg_dump exited with code 1',
    });
  });
});
