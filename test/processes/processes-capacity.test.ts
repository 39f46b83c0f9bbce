import { availableParallelism } from 'node:os';
import type { Principal } from '@pier/core';
import { CapacityGuard, createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { makeLive } from '../support/live-release.ts';

/**
 * `PATCH …/processes/:type` against the real capacity guard over a host of
 * 4 GiB (its reserve 512 MiB: 3.5 GiB allocatable) and the reservations in
 * Postgres: a larger memory limit is weighed like more replicas, and CPUs
 * beyond the host's are refused.
 */

const GiB = 1024 ** 3;
const ADMIN: Principal = { role: 'admin', tokenId: null };
const URL = '/apps/sized/environments/production/processes';
let api: TestApi;

beforeAll(async () => {
  let stores: ReturnType<typeof createStores> | undefined;
  api = await createTestApi({
    capacity: {
      check: (request) =>
        new CapacityGuard({
          reservations: stores?.reservations as NonNullable<typeof stores>['reservations'],
          host: async () => ({
            memoryTotalBytes: 4 * GiB,
            memoryAvailableBytes: 3 * GiB,
            disks: [{ path: '/', freeBytes: 50 * GiB }],
          }),
          policy: { reserveBytes: null, overcommit: 1 },
          buildMemoryBytes: 2 * GiB,
        }).check(request),
    },
  });
  stores = createStores(api.database.db, api.box);
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'sized' } })).statusCode).toBe(201);
  const app = await stores.apps.get(ADMIN, 'sized');
  const env = await stores.environments.get(app.id, 'production');
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: 'sha256:sized',
    imageRef: `pier/sized:${'a'.repeat(40)}`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
    processes: { web: null, worker: 'node worker.js' },
  });
  await makeLive(api.database.db, env.id, release.id, []);
});
afterAll(async () => api?.close());

describe('the capacity of a process type’s change', () => {
  it('a larger memory limit that the host cannot hold is refused naming memoryMb, and nothing changes', async () => {
    const res = await api.request({ method: 'PATCH', url: `${URL}/worker`, payload: { memoryMb: 8192 } });
    const message = expectError(res, 409, 'conflict', 'worker of sized-production at 1 replicas of 8192 MiB (now 1 of 512 MiB)');
    expect(message).toMatch(/^body\.memoryMb: /);
    const list = (await api.request({ method: 'GET', url: URL })).json();
    expect(list.processes.find((p: { type: string }) => p.type === 'worker').memoryMb).toBe(512);
  });

  it('one that fits is accepted', async () => {
    const res = await api.request({ method: 'PATCH', url: `${URL}/worker`, payload: { memoryMb: 1024 } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().process.memoryMb).toBe(1024);
  });

  it('more CPUs than the host has are refused naming cpus', async () => {
    const res = await api.request({ method: 'PATCH', url: `${URL}/worker`, payload: { cpus: availableParallelism() + 1 } });
    expect(expectError(res, 422, 'validation_failed', 'CPUs')).toMatch(/^body\.cpus: this host has \d+ CPUs/);
  });
});
