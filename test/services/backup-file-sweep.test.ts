import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeStrayBackupFiles } from '../../apps/worker/src/services/backup-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** Files of deleted backups are removed by the worker; those of backups that exist, or young ones, never. */

let database: TestDatabase;
let directory: string;
beforeAll(async () => {
  database = await createTestDatabase();
  directory = mkdtempSync(join(tmpdir(), 'pier-backup-sweep-'));
});
afterAll(async () => {
  await database?.destroy();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('stray backup files', () => {
  it('removes old files whose backup was deleted, and nothing else', async () => {
    const { services, serviceOperations } = createStores(database.db, new SecretBox(randomBytes(32)));
    const service = await services.create({ name: 'files', type: 'postgres', version: '15', image: 'pier-local/postgres:15' });
    const kept = await serviceOperations.requestBackup(service, 'manual');
    const deleted = await serviceOperations.requestBackup(service, 'manual');
    await database.sql`update service_operations set state = 'done' where service_id = ${service.id}`;
    await serviceOperations.deleteBackup(deleted?.id as string);
    mkdirSync(join(directory, 'files'));
    const file = (id: string, ext = 'dump') => join(directory, 'files', `2026-01-01T03-00-00-000Z-${id}.${ext}`);
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    const paths = {
      kept: file(kept?.id as string),
      deleted: file(deleted?.id as string),
      deletedPartial: `${file(randomUUID(), 'rdb')}.partial`,
      young: file(randomUUID()),
      other: join(directory, 'files', 'notes.txt'),
    };
    for (const path of Object.values(paths)) writeFileSync(path, 'x');
    for (const path of [paths.kept, paths.deleted, paths.deletedPartial, paths.other]) utimesSync(path, hourAgo, hourAgo);

    const existing = (ids: readonly string[]) => serviceOperations.existingBackupIds(ids);
    const removed = await removeStrayBackupFiles(directory, existing, 3600_000);
    expect(removed.sort()).toEqual([paths.deleted, paths.deletedPartial].sort());
    expect([paths.kept, paths.young, paths.other].every((p) => existsSync(p))).toBe(true);
    expect(existsSync(paths.deleted)).toBe(false);
    // A missing directory is nothing to sweep.
    expect(await removeStrayBackupFiles(join(directory, 'absent'), existing, 0)).toEqual([]);
  });
});
