import { randomBytes } from 'node:crypto';
import { LABEL_APP } from '@pier/core';
import { createStores } from '@pier/db';
import { DockerRuntime } from '@pier/docker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuildSettings } from '../../apps/worker/src/build-job.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import type { TestWorker } from '../support/worker.ts';
import {
  announcedContainers,
  BuildTestApps,
  containerExists,
  containersWithCommand,
  pushAndWait,
  startBuildWorker,
  tinyDockerfile,
} from './build-harness.ts';

/**
 * How a build fails, and what it leaves behind: a failing Dockerfile, an
 * escaping symlink, an oversized context, a full disk, a timeout; and how old
 * images are pruned. Each test runs its own worker with the settings it needs.
 */

const run = randomBytes(3).toString('hex');
let api: TestApi;
let worker: TestWorker | undefined;
const testApps = new BuildTestApps(`fail-${run}`);

beforeAll(async () => {
  api = await createTestApi();
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

afterAll(async () => {
  await testApps.remove(new DockerRuntime());
  await api?.close();
});

async function useWorker(settings: Partial<BuildSettings> = {}): Promise<TestWorker> {
  worker = await startBuildWorker(api, { settings });
  return worker;
}

const newApp = (kind: string) => testApps.create(api, kind);

describe('build failures', () => {
  it('a failing Dockerfile fails the deployment with the build’s last lines as the reason', async () => {
    const w = await useWorker();
    const app = await newApp('dockerfile');
    const { deployment, log } = await pushAndWait(api, app, {
      Dockerfile: 'FROM pier-local/debian:bookworm\nRUN echo about-to-fail && exit 3\n',
    });
    expect(deployment.state).toBe('failed');
    expect(deployment.image).toBeNull();
    const reason = deployment.reason ?? '';
    expect(reason).toMatch(/^build failed: .*returned a non-zero code: 3/);
    expect(reason).toContain('about-to-fail');
    expect(reason).toContain('RUN echo about-to-fail && exit 3');
    expect(await w.docker.listImages({ [LABEL_APP]: app.name })).toEqual([]);
    const steps = announcedContainers(log);
    expect(steps).toHaveLength(1);
    for (const id of steps) expect(await containerExists(w.docker, id)).toBe(false);
  }, 90_000);

  it('a symlink to /etc/passwd fails the deployment naming the link, before any build', async () => {
    const w = await useWorker();
    const app = await newApp('symlink');
    const { deployment, log } = await pushAndWait(api, app, {
      Dockerfile: 'FROM pier-local/debian:bookworm\nCOPY config /config\nRUN cat /config/passwd\n',
      'config/app.conf': 'port = 8080\n',
      'config/passwd': { symlink: '/etc/passwd' },
    });
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toContain('symlink "config/passwd" points outside the repository');
    expect(log).not.toMatch(/^Step 1\//m);
    expect(`${log}\n${deployment.reason}`).not.toContain('root:x:0:0');
    expect(await w.docker.listImages({ [LABEL_APP]: app.name })).toEqual([]);
  }, 90_000);

  it('a checkout over the context size limit fails with a reason naming the limit', async () => {
    const w = await useWorker({ maxContextBytes: 64 * 1024 });
    const app = await newApp('context');
    const { deployment, log } = await pushAndWait(api, app, {
      Dockerfile: tinyDockerfile('never-built'),
      'assets/big.txt': randomBytes(150 * 1024).toString('base64'),
    });
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toContain('the checkout is larger than the limit of 65536 bytes');
    expect(log).not.toMatch(/^Step 1\//m);
    expect(await w.docker.listImages({ [LABEL_APP]: app.name })).toEqual([]);
  }, 90_000);

  it('refuses to build while free disk space is under the threshold', async () => {
    const w = await useWorker({ minFreeDiskBytes: 1e15 });
    const app = await newApp('disk');
    const { deployment, log } = await pushAndWait(api, app, { Dockerfile: tinyDockerfile('never-built') });
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toMatch(/^not enough free disk space to build: \d+ MiB free, at least \d+ MiB required/);
    expect(log).not.toContain('fetching commit');
    expect(await w.docker.listImages({ [LABEL_APP]: app.name })).toEqual([]);
  }, 90_000);

  it('stops a build at its timeout, fails it, and leaves no build container behind', async () => {
    const w = await useWorker({ timeoutMs: 3000 });
    const app = await newApp('timeout');
    const marker = `timeout-marker-${run}`;
    const started = Date.now();
    const { deployment, log } = await pushAndWait(api, app, {
      Dockerfile: `FROM pier-local/debian:bookworm\nRUN echo ${marker} && sleep 30\n`,
    });
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toMatch(/^build timed out after 3 s/);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(log).toContain(marker);
    const steps = announcedContainers(log);
    expect(steps).toHaveLength(1);
    for (const id of steps) expect(await containerExists(w.docker, id)).toBe(false);
    expect(await containersWithCommand(w.docker, marker)).toEqual([]);
    expect(await w.docker.listImages({ [LABEL_APP]: app.name })).toEqual([]);
  }, 90_000);

  it('keeps the newest images per app (keepImages=2) plus the ones still in use, and removes the rest', async () => {
    const w = await useWorker({ keepImages: 2 });
    const deployments = createStores(api.database.db, api.box).deployments;
    const app = await newApp('prune');
    const images: string[] = [];
    for (const name of ['a', 'b', 'c', 'd']) {
      const { deployment } = await pushAndWait(api, app, { Dockerfile: tinyDockerfile(`prune-${run}-${name}`) });
      expect(deployment.state, deployment.reason ?? '').toBe('deploying');
      images.push(deployment.image?.id ?? '');
      // What the deploy phase would do: a is live (in use), b and c fail to roll out (not in use).
      if (name === 'a') expect(await deployments.transition(deployment.id, ['deploying'], 'live')).toBe(true);
      if (name === 'b' || name === 'c') expect(await deployments.transition(deployment.id, ['deploying'], 'failed')).toBe(true);
    }
    const [a, b, c, d] = images;
    // Newest two: d and c. Older: b (removed) and a (kept: live).
    const expected = [a, c, d].sort();
    const deadline = Date.now() + 15_000;
    let left: string[] = [];
    while (Date.now() < deadline) {
      left = (await w.docker.listImages({ [LABEL_APP]: app.name })).map((i) => i.imageId).sort();
      if (left.join() === expected.join()) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(left).toEqual(expected);
    expect(left).not.toContain(b);
    expect(w.logs.join('')).toContain('old images removed');
  }, 120_000);
});
