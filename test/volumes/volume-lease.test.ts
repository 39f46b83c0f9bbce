import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContainerOperations, SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { DockerRuntime } from '@pier/docker';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VolumeOperator } from '../../apps/worker/src/volumes/volume-operator.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';

/**
 * The lease of a volume operation on real Postgres: its expiry is Postgres's
 * clock plus the lease (never the worker's clock), a claim's `attempts`
 * fences out an earlier holder, and a worker that lost the lease mid-backup
 * (real Docker) stops without writing anything more.
 */

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
});
afterAll(async () => database?.destroy());

async function newVolume(name: string) {
  const app = await stores.apps.create({ name, webhookSecret: 'x'.repeat(40) });
  const env = await stores.environments.get(app.id, 'production');
  const volume = await stores.volumes.create(
    { environmentId: env.id, app: name, env: 'production' },
    { name: 'data', mountPath: '/data', processTypes: ['web'], shared: false },
  );
  return { ...volume, app: name, env: 'production' };
}

/** Seconds from Postgres's now() to the operation's locked_until. */
async function leaseLeft(id: string): Promise<number> {
  const [row] = await database.sql<{ left: number }[]>`
    select extract(epoch from locked_until - now())::float8 as left from volume_operations where id = ${id}`;
  return row?.left as number;
}

describe('the lease of a volume operation', () => {
  it('runs on Postgres’s clock: a worker whose clock is an hour behind still renews it into the future', async () => {
    const volume = await newVolume('clock');
    await stores.volumeOperations.requestBackup(volume, 'manual');
    const claim = await stores.volumeOperations.claimOperation(60_000);
    expect(claim).not.toBeNull();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() - 3600_000);
      expect(await stores.volumeOperations.renewOperation(claim as NonNullable<typeof claim>, 60_000)).toBe(true);
      expect(await leaseLeft(claim?.id as string)).toBeGreaterThan(50);
      expect(await stores.volumeOperations.retryOperation(claim as NonNullable<typeof claim>, 30_000, 'busy')).toBe(true);
      const left = await leaseLeft(claim?.id as string);
      expect(left).toBeGreaterThan(20);
      expect(left).toBeLessThanOrEqual(30);
    } finally {
      vi.useRealTimers();
    }
  });

  it('fences an earlier holder out: once another worker claimed it, renew, retry and finish change nothing', async () => {
    const volume = await newVolume('fence');
    await stores.volumeOperations.requestBackup(volume, 'manual');
    const first = await stores.volumeOperations.claimOperation(60_000);
    if (!first) throw new Error('no claim');
    // The first holder stalls past its lease; another worker claims the operation.
    await database.sql`update volume_operations set locked_until = now() - interval '1 second' where id = ${first.id}`;
    const second = await stores.volumeOperations.claimOperation(60_000);
    expect(second).toMatchObject({ id: first.id, attempts: first.attempts + 1 });

    expect(await stores.volumeOperations.renewOperation(first, 600_000)).toBe(false);
    expect(await stores.volumeOperations.finishOperation(first, 'stale')).toBe(false);
    expect(await stores.volumeOperations.retryOperation(first, 1000, 'stale')).toBe(false);
    const row = await stores.volumeOperations.operation(first.id);
    expect(row).toMatchObject({ state: 'running', error: null, attempts: first.attempts + 1 });
    expect(await leaseLeft(first.id)).toBeLessThanOrEqual(60);

    expect(await stores.volumeOperations.finishOperation(second as NonNullable<typeof second>)).toBe(true);
    expect(await stores.volumeOperations.operation(first.id)).toMatchObject({ state: 'done' });
  });
});

describe('a worker that loses the lease mid-backup', () => {
  const instance = `pier-test-lease-${randomBytes(3).toString('hex')}`;
  const docker = new DockerRuntime();
  let backupDirectory: string;
  afterAll(async () => {
    for (const c of await docker.listContainers({ 'pier.instance': instance }))
      await docker.removeContainer(c.id).catch(() => {});
    const volumes = (await docker.docker.listVolumes({ filters: { label: [`pier.instance=${instance}`] } })).Volumes ?? [];
    for (const volume of volumes) await docker.removeVolume(volume.Name).catch(() => {});
    if (backupDirectory) rmSync(backupDirectory, { recursive: true, force: true });
  });

  it('stops before it writes anything more: the backup and the operation stay as the new holder has them', async () => {
    backupDirectory = mkdtempSync(join(tmpdir(), 'pier-volume-lease-'));
    const volume = await newVolume('stolen');
    // Every command in the helper waits until the test lets it go: the worker is stalled mid-backup.
    let entered!: () => void;
    const stalled = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const containers = new Proxy(docker, {
      get(target, prop) {
        if (prop === 'exec') {
          return async (...args: Parameters<ContainerOperations['exec']>) => {
            entered();
            await gate;
            return target.exec(...args);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as ContainerOperations;
    const operator = new VolumeOperator({
      volumes: stores.volumes,
      operations: stores.volumeOperations,
      containers,
      sql: database.sql,
      logger: createLogger({ name: 'worker', level: 'silent', format: 'json' }),
      instance,
      image: LOCAL_IMAGES.procfile,
      backupDirectory,
      pollIntervalMs: 100,
      reconcileIntervalMs: 600_000,
      leaseMs: 600,
    });
    const made = await stores.volumeOperations.requestBackup(volume, 'manual');
    if (!made) throw new Error('no backup');
    operator.start();
    try {
      await stalled;
      // Another worker takes the operation over (a claim increments attempts), for an hour.
      await database.sql`
        update volume_operations set attempts = attempts + 1, locked_until = now() + interval '1 hour'
        where id = ${made.operation.id}`;
      // The stalled worker's renewals (every 200 ms) find the lease lost; then its commands run on.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      release();
    } finally {
      release();
      await operator.stop();
    }
    expect(await stores.volumeOperations.operation(made.operation.id)).toMatchObject({
      state: 'running',
      error: null,
      finishedAt: null,
    });
    expect(await leaseLeft(made.operation.id)).toBeGreaterThan(3000);
    expect(await stores.volumeOperations.backup(made.backup.id)).toMatchObject({
      state: 'running',
      fileName: null,
      sha256: null,
    });
  }, 60_000);
});
