import { randomBytes } from 'node:crypto';
import { LABEL_RELEASE, SecretBox } from '@pier/core';
import { createStores, type HealthSettings, listenTo, type ReleaseRow, ROLLOUTS_CHANNEL, type Stores } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processCommand } from '../../apps/worker/src/deploy/process-command.ts';
import { Reconciler } from '../../apps/worker/src/deploy/reconciler.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { MemoryNetworks } from '../support/memory-networks.ts';
import { type MemoryInstance, MemoryWorkload } from '../support/memory-workload.ts';

/**
 * Process types other than web, through the reconciler against the in-memory
 * Workload fake over a real Postgres: workers start from the live release
 * only once its web replicas passed their gates, are replaced when a new
 * release goes live, scale without a release, are restarted after a crash
 * with the out-of-memory reason kept, and a web replica on a single-writer
 * volume is stopped before the next release's starts.
 */

const INSTANCE = 'process-types-test';
const HEALTH: HealthSettings = { path: '/health', intervalMs: 50, timeoutMs: 500, healthyThreshold: 1, deadlineMs: 3000 };
const POLL = { timeout: 10_000, interval: 20 };

let database: TestDatabase;
let stores: Stores;
let workload: MemoryWorkload;
let reconciler: Reconciler;
let networks: MemoryNetworks;
let appId: string;
let environmentId: string;

beforeEach(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  workload = new MemoryWorkload({
    graceScale: 0.01,
    programs: {
      // Web answers its health checks slowly enough that a worker started before the switch would be seen.
      'img-1': { serve: () => ({ status: 200, body: 'ok' }) },
      'img-2': { serve: () => ({ status: 200, body: 'ok' }) },
    },
  });
  networks = new MemoryNetworks({ attached: () => 0 });
  const app = await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
  const production = await stores.environments.update(app.id, 'production', { replicas: 1, drainTimeoutMs: 300 });
  appId = app.id;
  environmentId = production.id;
  reconciler = new Reconciler({
    stores,
    workload,
    networks,
    instance: INSTANCE,
    baseDomain: 'pier.test',
    logger: createLogger({ name: 'worker', level: 'silent', format: 'json' }),
    intervalMs: 150,
    activeIntervalMs: 50,
    leaseMs: 1000,
    plan: { backoffBaseMs: 200, backoffMaxMs: 800, resetAfterMs: 60_000 },
    wakeOn: listenTo(database.sql, ROLLOUTS_CHANNEL),
  });
  reconciler.start();
});

afterEach(async () => {
  await reconciler.stop();
  workload.close();
  await database.destroy();
});

function release(image: string, processes: Record<string, string | null>): Promise<ReleaseRow> {
  return stores.releases.create({
    environmentId,
    imageId: image,
    imageRef: `pier/shop:${image}`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: HEALTH,
    processes,
  });
}

/** Deploys `target` and waits until its rollout succeeded; the time that was seen (polled every 20 ms). */
async function deploy(target: ReleaseRow): Promise<number> {
  const deployment = await stores.deployments.enqueueRelease({
    appId,
    environmentId,
    trigger: 'manual',
    releaseId: target.id,
    imageId: target.imageId,
    commitSha: null,
  });
  const rollout = await stores.rollouts.begin({ environmentId, deploymentId: deployment.id, toReleaseId: target.id });
  if (!rollout) throw new Error('the rollout did not begin');
  await expect.poll(async () => (await stores.rollouts.get(rollout.id))?.state, POLL).toBe('succeeded');
  return Date.now();
}

const running = (type: string, target?: ReleaseRow): MemoryInstance[] =>
  workload
    .instances()
    .filter(
      (i) =>
        !i.removed &&
        i.status !== 'exited' &&
        i.labels['pier.process'] === type &&
        (!target || i.labels[LABEL_RELEASE] === target.id),
    );

describe('process types other than web', () => {
  it('workers run from the live release once its web replicas are live, with their command and no port; a new release replaces them after its switch', async () => {
    const v1 = await release('img-1', { web: null, worker: 'python3 worker.py' });
    const liveAt = await deploy(v1);
    await expect.poll(() => running('worker', v1).length, POLL).toBe(1);
    const [worker] = running('worker', v1);
    expect(worker?.spec).toMatchObject({ containerPort: null, command: processCommand('python3 worker.py') });
    expect(worker?.labels['pier.role']).toBe('process');
    expect(worker?.address).toBeNull();
    // Started after the web replica passed its gate and the release went live (within one sampling tick).
    expect(worker?.startedAt?.getTime() ?? 0).toBeGreaterThanOrEqual(liveAt - 60);
    const workerRow = async () => (await stores.replicas.list(environmentId)).find((r) => r.processType === 'worker');
    // Running, with no gate: `serving` (which for a worker means running) once its container runs.
    await expect.poll(async () => (await workerRow())?.state, POLL).toBe('serving');
    expect(await workerRow()).toMatchObject({ host: null, port: null, memoryMb: 512, cpus: 1 });

    const v2 = await release('img-2', { web: null, worker: 'python3 worker.py' });
    const v2LiveAt = await deploy(v2);
    await expect.poll(() => running('worker', v2).length, POLL).toBe(1);
    await expect.poll(() => running('worker', v1).length, POLL).toBe(0);
    const [next] = running('worker', v2);
    expect(next?.startedAt?.getTime() ?? 0).toBeGreaterThanOrEqual(v2LiveAt - 60);
  });

  it('scales a type to 3 and to 0 with no new release, with its own limits', async () => {
    const v1 = await release('img-1', { web: null, worker: 'python3 worker.py' });
    await deploy(v1);
    await expect.poll(() => running('worker', v1).length, POLL).toBe(1);
    await stores.processes.set(environmentId, 'worker', { replicas: 3, memoryMb: 256, cpus: 0.5 });
    await expect.poll(() => running('worker', v1).length, POLL).toBeGreaterThanOrEqual(3);
    // The one started before the change keeps its limits; the new ones have the type's.
    const limits = running('worker', v1).map((i) => i.spec.limits.memoryBytes / 1024 / 1024);
    expect(limits.filter((mb) => mb === 256)).toHaveLength(2);
    await stores.processes.set(environmentId, 'worker', { replicas: 0 });
    await expect.poll(() => running('worker').length, POLL).toBe(0);
    expect(running('web', v1)).toHaveLength(1);
    expect(await stores.releases.list(environmentId)).toHaveLength(1);
  });

  it('a release without web runs its workers alone', async () => {
    const v1 = await release('img-1', { clock: 'python3 clock.py' });
    await deploy(v1);
    await expect.poll(() => running('clock', v1).length, POLL).toBe(1);
    expect(running('web')).toHaveLength(0);
  });

  it('a worker killed for its memory is restarted after the backoff, and its type reports out of memory at its limit', async () => {
    const v1 = await release('img-1', { web: null, worker: 'python3 worker.py' });
    await deploy(v1);
    await expect.poll(() => running('worker', v1).length, POLL).toBe(1);
    const [first] = running('worker', v1);
    workload.outOfMemory(first?.id ?? '');
    await expect
      .poll(async () => (await stores.processes.get(environmentId, 'worker'))?.lastExit, POLL)
      .toMatchObject({ oomKilled: true, exitCode: 137, memoryMb: 512, reason: 'out of memory at 512 MiB: raise memoryMb' });
    await expect.poll(() => running('worker', v1).filter((i) => i.id !== first?.id).length, POLL).toBe(1);
    expect((await stores.processes.get(environmentId, 'worker'))?.restartStreak).toBe(1);
    // Web's own streak is untouched.
    expect((await stores.environments.byId(environmentId)).restartStreak).toBe(0);
    // A new release starts its workers afresh: the old release's streak does not delay them.
    await deploy(await release('img-2', { web: null, worker: 'python3 worker.py' }));
    expect((await stores.processes.get(environmentId, 'worker'))?.restartStreak).toBe(0);
  });

  it('web on a single-writer volume: the old replica is stopped before the new release’s starts', async () => {
    await stores.volumes.create(
      { environmentId, app: 'shop', env: 'production' },
      { name: 'data', mountPath: '/data', processTypes: ['web'], shared: false },
    );
    const v1 = await release('img-1', { web: null });
    await deploy(v1);
    const [old] = running('web', v1);
    expect(Object.values(old?.spec.volumes ?? {})).toEqual(['/data']);
    // Made with Pier's labels before the replica mounted it.
    const [dockerName] = Object.keys(old?.spec.volumes ?? {});
    expect(networks.volumes().get(dockerName ?? '')).toMatchObject({ 'pier.app': 'shop', 'pier.volume': 'data' });
    const overlap: number[] = [];
    const watch = setInterval(() => {
      const releases = new Set(running('web').map((i) => i.labels[LABEL_RELEASE]));
      overlap.push(releases.size);
    }, 10);
    const v2 = await release('img-2', { web: null });
    await deploy(v2);
    clearInterval(watch);
    expect(Math.max(...overlap)).toBe(1);
    expect(running('web', v2)).toHaveLength(1);
  });
});
