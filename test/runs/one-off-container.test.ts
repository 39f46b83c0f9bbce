import { randomBytes } from 'node:crypto';
import { type ContainerSpec, SecretBox } from '@pier/core';
import { createStores, type ReleaseRow, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareReplicas } from '../../apps/worker/src/deploy/replica-lifecycle.ts';
import { runOneOffContainer } from '../../apps/worker/src/runs/one-off-container.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { MemoryNetworks } from '../support/memory-networks.ts';
import { MemoryWorkload } from '../support/memory-workload.ts';

/**
 * A one-off container's spec, over real Postgres and stores: a run gets the
 * web type's limits and mounts no volume, also when a process type of the
 * release is named like the run's kind (a Procfile's `cron:` line running
 * supercronic, with its own limits and volume).
 */

const INSTANCE = 'one-off-test';
const MiB = 1024 * 1024;

let database: TestDatabase;
let stores: Stores;
let workload: MemoryWorkload;
let release: ReleaseRow;
let target: { environmentId: string; appName: string; name: string };

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  workload = new MemoryWorkload({ programs: {} });
  const app = await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
  const production = await stores.environments.get(app.id, 'production');
  target = { environmentId: production.id, appName: 'shop', name: 'production' };
  release = await stores.releases.create({
    environmentId: production.id,
    imageId: 'img-1',
    imageRef: 'pier/shop:img-1',
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
    processes: { web: null, cron: 'supercronic /app/crontab', run: 'node runner.js' },
  });
  await stores.processes.set(production.id, 'web', { memoryMb: 300 });
  await stores.processes.set(production.id, 'cron', { memoryMb: 777 });
  await stores.processes.set(production.id, 'run', { memoryMb: 888 });
  await stores.volumes.create(
    { environmentId: production.id, app: 'shop', env: 'production' },
    { name: 'data', mountPath: '/data', processTypes: ['web', 'cron', 'run'], shared: true },
  );
});

afterAll(async () => {
  workload?.close();
  await database?.destroy();
});

/** The spec a one-off of `kind` would run (refused at admission, so nothing runs). */
async function oneOffSpec(kind: string): Promise<ContainerSpec> {
  let seen: ContainerSpec | undefined;
  const deps = { stores, networks: new MemoryNetworks(), instance: INSTANCE, workload };
  await expect(
    runOneOffContainer(deps, {
      target,
      release,
      command: ['date'],
      labels: { 'pier.run': kind },
      kind,
      timeoutMs: 5000,
      log: () => {},
      admit: async (spec) => {
        seen = spec;
        throw new Error('refused');
      },
    }),
  ).rejects.toThrow('refused');
  if (!seen) throw new Error('no spec was admitted');
  return seen;
}

describe('a one-off container', () => {
  it.each(['cron', 'run', 'release'])(
    'of kind %s gets the web type’s limits and no volume, not a process type of its name',
    async (kind) => {
      const spec = await oneOffSpec(kind);
      expect(spec.limits.memoryBytes).toBe(300 * MiB);
      expect(spec.volumes ?? {}).toEqual({});
      expect(spec.command).toEqual(['date']);
      expect(spec.name).toContain(`-${kind}-`);
    },
  );

  it('the process types named cron and run keep their own limits and volume as replicas', async () => {
    const deps = { stores, networks: new MemoryNetworks(), instance: INSTANCE };
    const [cron] = await prepareReplicas(deps, target, release, 1, { processType: 'cron' });
    expect(cron?.limits.memoryBytes).toBe(777 * MiB);
    expect(Object.values(cron?.volumes ?? {})).toEqual(['/data']);
    const [run] = await prepareReplicas(deps, target, release, 1, { processType: 'run' });
    expect(run?.limits.memoryBytes).toBe(888 * MiB);
  });
});
