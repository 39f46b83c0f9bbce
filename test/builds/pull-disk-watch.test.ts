import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError, type ContainerRuntime, type PulledImage, type PullRequest } from '@pier/core';
import { createStores } from '@pier/db';
import { createLogger } from '@pier/log';
import type { JobContext } from '@pier/queue';
import { GitSourceFetcher } from '@pier/source';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuildJob } from '../../apps/worker/src/build-job.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';

/**
 * The build job watches free disk space while it pulls a prebuilt image, as
 * while it builds. The runtime here is a stand-in whose pull takes 5 s unless
 * stopped and whose disk fills once the pull has begun: what is under test is
 * the job's order of checks (real Postgres, real stores), not the Engine.
 */

const MiB = 1024 * 1024;
let api: TestApi;
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-pull-disk-'));

beforeAll(async () => {
  api = await createTestApi();
});

afterAll(async () => {
  await api?.close();
  rmSync(workDirectory, { recursive: true, force: true });
});

/** Free space is plenty at the first check and 1 MiB at every later one; the pull ends after 5 s, or fails when stopped. */
function fillingRuntime(): ContainerRuntime & { pulls: number } {
  let checks = 0;
  const runtime = {
    pulls: 0,
    freeDiskBytes: async () => (++checks === 1 ? 100 * 1024 * MiB : MiB),
    pullImage: (request: PullRequest, onLine: (line: string) => void, signal?: AbortSignal) =>
      new Promise<PulledImage>((resolve, reject) => {
        runtime.pulls++;
        onLine(`pulling ${request.reference}`);
        const id = `sha256:${'0'.repeat(64)}`;
        const timer = setTimeout(() => resolve({ imageId: id, pulledId: id, tag: request.tag, digest: null }), 5000);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new BuildError('pull cancelled'));
        });
      }),
    listImages: async () => [],
    removeImage: async () => {},
    buildImage: () => Promise.reject(new Error('not used')),
    imageExposedPorts: () => Promise.reject(new Error('not used')),
    imageTags: async () => [],
    imageDiskBytes: async () => 0,
  };
  return runtime;
}

describe('pulling a prebuilt image', () => {
  it('is stopped when free disk space runs low while it runs, saying so', async () => {
    const created = await api.request({ method: 'POST', url: '/apps', payload: { name: 'pull-disk' } });
    expect(created.statusCode, created.body).toBe(201);
    const queued = await api.request({
      method: 'POST',
      url: '/apps/pull-disk/environments/staging/deployments',
      payload: { image: 'registry.example.org/ci/web:1' },
    });
    expect(queued.statusCode, queued.body).toBe(202);
    const id = queued.json().id as string;
    const runtime = fillingRuntime();
    const stores = createStores(api.database.db, api.box);
    const ctx = { job: {}, retryLater: () => Promise.reject(new Error('not busy')) } as unknown as JobContext;
    await runBuildJob(
      {
        ...stores,
        fetcher: new GitSourceFetcher({ allowFileUrls: true, tempDirectory: workDirectory }),
        runtime,
        settings: {
          images: LOCAL_IMAGES,
          workDirectory,
          timeoutMs: 60_000,
          memoryBytes: 512 * MiB,
          maxContextBytes: 10 * MiB,
          minFreeDiskBytes: 256 * MiB,
          keepImages: 5,
          diskCheckIntervalMs: 50,
        },
        logger: createLogger({ name: 'worker', level: 'silent', format: 'json' }),
      },
      id,
      ctx,
    );
    const deployment = await stores.deployments.get(id);
    expect(runtime.pulls).toBe(1);
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toMatch(
      /^the pull was stopped: free disk space ran low: 1 MiB free, at least 256 MiB required; remove unused images or grow the disk/,
    );
  }, 30_000);
});
