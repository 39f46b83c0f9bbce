import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { CapacityGuard, createStores, schema } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BUILD = 2048 * MiB;
const health = { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 };

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
});
afterAll(async () => database?.destroy());

/** An app's staging environment with one release, for rows that need both. */
async function staging(name: string) {
  const app = await stores.apps.create({ name, webhookSecret: 'x'.repeat(40) });
  const env = await stores.environments.get(app.id, 'staging');
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: 'sha256:abc',
    imageRef: `pier/${name}:1`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health,
  });
  return { app, env, release };
}

describe('ReservationStore', () => {
  it('sums the memory limits of live replicas, services, running builds and running runs; nothing else', async () => {
    expect(await stores.reservations.reserved({ buildMemoryBytes: BUILD })).toEqual({
      replicas: 0,
      services: 0,
      builds: 0,
      runs: 0,
      total: 0,
    });
    const { app, env, release } = await staging('reserved');
    const replica = (state: 'starting' | 'serving' | 'draining' | 'stopped', memoryMb: number | null, n: number) => ({
      environmentId: env.id,
      releaseId: release.id,
      containerName: `pier-reserved-staging-${n}`,
      state,
      memoryMb,
    });
    await database.db.insert(schema.replicas).values([
      replica('starting', 256, 1),
      replica('serving', 1024, 2),
      replica('draining', null, 3), // an unknown limit counts as the default's 512 MiB
      replica('stopped', 4096, 4), // ended: holds nothing
    ]);
    const service = (name: string, state: 'provisioning' | 'ready' | 'failed' | 'deleting') => ({
      name,
      type: 'postgres' as const,
      version: '15',
      state,
      credentialsCiphertext: 'x',
      keyId: 'k',
      volumeName: `pier-${name}`,
      image: 'pier-local/postgres:latest',
    });
    await database.db
      .insert(schema.managedServices)
      .values([service('db-ready', 'ready'), service('db-new', 'provisioning'), service('db-broken', 'failed')]);
    const deployment = (state: 'building' | 'deploying' | 'queued', image: string | null) => ({
      appId: app.id,
      environmentId: env.id,
      trigger: 'manual' as const,
      state,
      image,
    });
    const [building] = await database.db
      .insert(schema.deployments)
      .values([
        deployment('building', null),
        deployment('building', 'registry.example/app:1'), // a pull: no build container
        deployment('queued', null),
        deployment('deploying', null),
      ])
      .returning({ id: schema.deployments.id });
    const run = (state: string, memoryMb: number | null) => ({
      appId: app.id,
      environmentId: env.id,
      kind: 'run',
      command: ['true'],
      timeoutSeconds: 60,
      startedBy: 'test',
      state,
      memoryMb,
    });
    const [running] = await database.db
      .insert(schema.runs)
      .values([run('running', 300), run('running', null), run('queued', 4096), run('failed', 4096)])
      .returning({ id: schema.runs.id });

    const reserved = await stores.reservations.reserved({ buildMemoryBytes: BUILD });
    expect(reserved).toEqual({
      replicas: (256 + 1024 + 512) * MiB,
      services: 2 * 1024 * MiB,
      builds: BUILD,
      runs: (300 + 512) * MiB,
      total: (256 + 1024 + 512 + 2048 + 2048 + 300 + 512) * MiB,
    });
    // The build or run being weighed, already marked running, is not counted against itself.
    const except = { deploymentId: building?.id, runId: running?.id };
    expect(await stores.reservations.reserved({ buildMemoryBytes: BUILD, except })).toMatchObject({
      builds: 0,
      runs: 512 * MiB,
      total: (256 + 1024 + 512 + 2048 + 512) * MiB,
    });
  });

  it("lists an environment's process types with their replicas and memory", async () => {
    const { env } = await staging('typed');
    await database.db.insert(schema.environmentProcesses).values([
      { environmentId: env.id, type: 'web', memoryMb: 1024 },
      { environmentId: env.id, type: 'worker', replicas: 3 },
    ]);
    expect(await stores.reservations.processes(env.id)).toEqual(
      new Map([
        ['web', { replicas: null, memoryMb: 1024 }],
        ['worker', { replicas: 3, memoryMb: null }],
      ]),
    );
  });
});

describe('CapacityGuard', () => {
  const host = async () => ({
    memoryTotalBytes: 8 * GiB,
    memoryAvailableBytes: 6 * GiB,
    disks: [{ path: '/', freeBytes: 20 * GiB }],
  });

  it("weighs a new replica at its type's own limit, else its live release's resources (pier.json), else 512 MiB", async () => {
    const { env } = await staging('limits');
    expect(await stores.reservations.memoryMbOf(env.id, 'web')).toBe(512);
    const release = await stores.releases.create({
      environmentId: env.id,
      imageId: 'sha256:abc',
      imageRef: 'pier/limits:2',
      config: {},
      configVersion: 0,
      replicas: 1,
      health,
      settings: { resources: { value: { memoryMb: 4096 }, source: 'pier.json' } },
    });
    await database.sql`update environments set live_release_id = ${release.id} where id = ${env.id}`;
    expect(await stores.reservations.memoryMbOf(env.id, 'web')).toBe(4096);
    await stores.processes.set(env.id, 'web', { memoryMb: 256 });
    expect(await stores.reservations.memoryMbOf(env.id, 'web')).toBe(256);
  });

  it('weighs a request against the host and what Postgres says is reserved', async () => {
    // 8 GiB less the 819 MiB reserve: 7373 MiB allocatable; the first test reserved 6700 MiB: 673 MiB left.
    const guard = new CapacityGuard({
      reservations: stores.reservations,
      host,
      policy: { reserveBytes: null, overcommit: 1 },
      buildMemoryBytes: BUILD,
    });
    expect(await guard.check({ kind: 'scale', action: 'scaling staging to 2 replicas', memoryBytes: 512 * MiB })).toEqual({
      ok: true,
    });
    const refused = await guard.check({ kind: 'scale', action: 'scaling staging to 3 replicas', memoryBytes: 1024 * MiB });
    expect(refused).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^scaling staging to 3 replicas reserves 1\.0 GiB of memory, but 673 MiB is left: 7\.2 GiB of this host's 8\.0 GiB is allocatable and 6\.5 GiB is reserved already/,
      ),
    });
    const off = new CapacityGuard({
      reservations: stores.reservations,
      host,
      policy: { reserveBytes: null, overcommit: null },
      buildMemoryBytes: BUILD,
    });
    expect(await off.check({ kind: 'scale', action: 'scaling', memoryBytes: 100 * GiB })).toEqual({ ok: true });
  });
});
