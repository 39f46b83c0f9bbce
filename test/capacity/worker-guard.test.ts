import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostResources } from '@pier/core';
import { CapacityGuard, createStores, schema } from '@pier/db';
import { DockerRuntime } from '@pier/docker';
import { createLogger } from '@pier/log';
import type { JobContext } from '@pier/queue';
import { GitSourceFetcher } from '@pier/source';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuildJob } from '../../apps/worker/src/build-job.ts';
import { rolloutMemoryBytes } from '../../apps/worker/src/capacity/rollout-capacity.ts';
import { runDeployJob } from '../../apps/worker/src/deploy/deploy-job.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { MemoryNetworks } from '../support/memory-networks.ts';
import { MemoryWorkload } from '../support/memory-workload.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';

/**
 * The worker's checks, on real Postgres and real stores: a build and a
 * rollout that the host cannot hold fail with the figures, before anything
 * is built or started; a rollout that fits begins. The host is a 4 GiB one
 * (given, so the figures are the same on every machine): 3.5 GiB allocatable
 * after the default reserve of 512 MiB.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const IMAGE_ID = `sha256:${'c'.repeat(64)}`;
const host = async (): Promise<HostResources> => ({
  memoryTotalBytes: 4 * GiB,
  memoryAvailableBytes: 3 * GiB,
  disks: [{ path: '/', freeBytes: 50 * GiB }],
});
const logger = createLogger({ name: 'worker', level: 'silent', format: 'json' });
const ctx = { job: {}, retryLater: () => Promise.reject(new Error('not busy')) } as unknown as JobContext;
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-capacity-'));

let api: TestApi;
let stores: ReturnType<typeof createStores>;
let guard: CapacityGuard;

beforeAll(async () => {
  api = await createTestApi();
  stores = createStores(api.database.db, api.box);
  guard = new CapacityGuard({
    reservations: stores.reservations,
    host,
    policy: { reserveBytes: null, overcommit: 1 },
    buildMemoryBytes: 2 * GiB,
  });
  // Another app's production holds 1 GiB: one serving replica.
  const other = await api.request({ method: 'POST', url: '/apps', payload: { name: 'neighbour' } });
  expect(other.statusCode, other.body).toBe(201);
  const production = await stores.environments.get(other.json().id, 'production');
  const release = await stores.releases.create({
    environmentId: production.id,
    imageId: IMAGE_ID,
    imageRef: 'pier/neighbour:1',
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
  });
  await api.database.db.insert(schema.replicas).values({
    environmentId: production.id,
    releaseId: release.id,
    containerName: 'pier-neighbour-production-1',
    state: 'serving',
    memoryMb: 1024,
  });
});

afterAll(async () => {
  await api?.close();
  rmSync(workDirectory, { recursive: true, force: true });
});

describe('the capacity guard in the worker', () => {
  it('fails a build whose memory the host cannot hold besides what is reserved, naming the figures', async () => {
    const payload = {
      name: 'cap-build',
      repository: { fullName: 'acme/cap-build', cloneUrl: `file://${workDirectory}/no-such-repository` },
    };
    expect((await api.request({ method: 'POST', url: '/apps', payload })).statusCode).toBe(201);
    // A second build already running holds 2 GiB: with the neighbour's 1 GiB, 512 MiB is left.
    const running = await api.request({
      method: 'POST',
      url: '/apps/cap-build/environments/production/deployments',
      payload: { branch: 'main' },
    });
    await stores.deployments.transition(running.json().id, ['queued'], 'building', {});
    const queued = await api.request({ method: 'POST', url: '/apps/cap-build/environments/staging/deployments', payload: {} });
    expect(queued.statusCode, queued.body).toBe(202);
    const id = queued.json().id as string;
    await runBuildJob(
      {
        ...stores,
        // Had the guard let it through, it would fail on this missing local repository, saying so: never on capacity.
        fetcher: new GitSourceFetcher({ allowFileUrls: true, tempDirectory: workDirectory }),
        runtime: new DockerRuntime(),
        settings: {
          images: LOCAL_IMAGES,
          workDirectory,
          timeoutMs: 60_000,
          memoryBytes: 2 * GiB,
          maxContextBytes: 10 * MiB,
          minFreeDiskBytes: 256 * MiB,
          keepImages: 5,
        },
        capacity: guard,
        logger,
      },
      id,
      ctx,
    );
    const deployment = await stores.deployments.get(id);
    expect(deployment.state).toBe('failed');
    expect(deployment.commitSha).toBeNull(); // refused before the repository was even asked
    expect(deployment.reason).toMatch(
      /^not enough capacity: building cap-build reserves 2\.0 GiB of memory, but 512 MiB is left: 3\.5 GiB of this host's 4\.0 GiB is allocatable and 3\.0 GiB is reserved already \(3\.0 GiB is unused right now\)\. Wait for running builds to finish, or lower PIER_BUILD_MEMORY_MB, or set PIER_CAPACITY_OVERCOMMIT\./,
    );
    await stores.deployments.transition(running.json().id, ['building'], 'failed', { reason: 'test over' });
  });

  it('fails a rollout whose replicas the host cannot hold besides what runs, and begins one that fits', async () => {
    const created = await api.request({ method: 'POST', url: '/apps', payload: { name: 'cap-roll' } });
    const app = created.json();
    const staging = await stores.environments.get(app.id, 'staging');
    await api.database.db.insert(schema.environmentProcesses).values({ environmentId: staging.id, type: 'web', memoryMb: 1024 });
    const deps = {
      ...stores,
      images: { imageExposedPorts: async () => [8080] },
      releasePhase: {
        stores,
        workload: new MemoryWorkload({ programs: {} }),
        networks: new MemoryNetworks(),
        instance: 'pier-capacity',
      },
      capacity: guard,
      logger,
    };
    const deploy = async (replicas: number) => {
      await stores.environments.update(app.id, 'staging', { replicas });
      const row = await stores.deployments.enqueueRelease({
        appId: app.id,
        environmentId: staging.id,
        trigger: 'manual',
        releaseId: null,
        imageId: IMAGE_ID,
        commitSha: null,
      });
      await runDeployJob(deps, row.id, ctx);
      return stores.deployments.get(row.id);
    };

    // 3 replicas of 1 GiB, while the neighbour's 1 GiB runs: 3.0 GiB asked, 2.5 GiB left.
    const refused = await deploy(3);
    expect(refused.state).toBe('failed');
    expect(refused.reason).toMatch(
      /^not enough capacity: rolling out release v1 of cap-roll-staging reserves 3\.0 GiB of memory, but 2\.5 GiB is left: 3\.5 GiB of this host's 4\.0 GiB is allocatable and 1\.0 GiB is reserved already .*Lower the replicas or memoryMb of its process types/,
    );
    expect(await stores.rollouts.ofDeployment(refused.id)).toBeFalsy();
    expect((await stores.environments.get(app.id, 'staging')).desiredReleaseId).toBeNull();

    const fits = await deploy(2);
    expect(fits.reason).toBeNull();
    expect(fits.state).toBe('deploying'); // the reconciler (not running here) takes it from there
    expect(await stores.rollouts.ofDeployment(fits.id)).toBeTruthy();
  });

  it("counts all of a new release's web replicas, and of another type only what its live replicas do not hold already", async () => {
    const created = await api.request({ method: 'POST', url: '/apps', payload: { name: 'cap-types' } });
    const staging = await stores.environments.get(created.json().id, 'staging');
    const release = await stores.releases.create({
      environmentId: staging.id,
      imageId: IMAGE_ID,
      imageRef: 'pier/cap-types:1',
      config: {},
      configVersion: 0,
      replicas: 2,
      health: { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
      processes: { web: null, worker: 'node worker.js', clock: 'node clock.js' },
    });
    await api.database.db.insert(schema.environmentProcesses).values([
      { environmentId: staging.id, type: 'worker', replicas: 3, memoryMb: 1024 },
      { environmentId: staging.id, type: 'clock', replicas: 1, memoryMb: 256 },
    ]);
    const deps = { reservations: stores.reservations, releases: stores.releases };
    // Nothing live: 2 web × 512 MiB + 3 workers × 1 GiB + 1 clock × 256 MiB.
    expect(await rolloutMemoryBytes(deps, staging.id, release, 2)).toBe((1024 + 3072 + 256) * MiB);
    // Two workers of the live release hold 2 GiB (they stop as the new ones start), the clock its 256 MiB; web doubles.
    const replica = (type: string, memoryMb: number, n: number) => ({
      environmentId: staging.id,
      releaseId: release.id,
      containerName: `pier-cap-types-staging-${type}-${n}`,
      processType: type,
      state: 'serving' as const,
      memoryMb,
    });
    await api.database.db
      .insert(schema.replicas)
      .values([
        replica('web', 512, 1),
        replica('web', 512, 2),
        replica('worker', 1024, 1),
        replica('worker', 1024, 2),
        replica('clock', 256, 1),
      ]);
    expect(await rolloutMemoryBytes(deps, staging.id, release, 2)).toBe((1024 + 1024 + 0) * MiB);
  });
});
