import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DockerRuntime } from '@pier/docker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuildSettings } from '../../apps/worker/src/build-job.ts';
import { truncationNotice } from '../../apps/worker/src/deployment-log-writer.ts';
import { type TestFile, TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import type { TestWorker } from '../support/worker.ts';
import { openSse, type SseEvent } from '../webhooks/webhook-fixtures.ts';
import {
  announcedContainers,
  BUILD_OVER,
  buildLog,
  containerExists,
  createApp,
  getDeployment,
  pushCommit,
  removeAppObjects,
  startBuildWorker,
  tinyDockerfile,
  waitForState,
} from './build-harness.ts';

/**
 * What a build's output and disk use may cost, with the real worker and real
 * Docker builds: a RUN step printing hundreds of MB without a newline neither
 * slows another app's build nor stores more than the output budget (followers
 * see where it was cut), and a build that fills the disk is stopped.
 */

const run = randomBytes(3).toString('hex');
const MiB = 1024 * 1024;
const LOG_BUDGET = MiB;
let api: TestApi;
let base: string;
let worker: TestWorker | undefined;
const repos: TestGitRepository[] = [];
const apps: string[] = [];

beforeAll(async () => {
  api = await createTestApi();
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

afterAll(async () => {
  await removeAppObjects(new DockerRuntime(), apps);
  await api?.close();
  for (const repo of repos) repo.remove();
});

async function useWorker(settings: Partial<BuildSettings>): Promise<TestWorker> {
  worker = await startBuildWorker(api, { settings });
  return worker;
}

interface TestApp {
  fullName: string;
  secret: string;
  repo: TestGitRepository;
  name: string;
}

async function newApp(kind: string): Promise<TestApp> {
  const name = `bounds-${kind}-${run}`;
  const fullName = `acme/${name}`;
  const repo = new TestGitRepository();
  repos.push(repo);
  apps.push(name);
  return { name, fullName, secret: await createApp(api, name, fullName, repo), repo };
}

/** Commits `files`, pushes, and returns the id of the deployment it queued. */
async function push(app: TestApp, files: Record<string, TestFile>): Promise<string> {
  const sha = app.repo.commit(files);
  app.repo.push();
  return pushCommit(api, app.fullName, app.secret, sha);
}

/** Milliseconds from a push of `files` until its build is over; the build must have made an image. */
async function timedBuild(app: TestApp, files: Record<string, TestFile>): Promise<number> {
  const started = Date.now();
  const id = await push(app, files);
  const deployment = await waitForState(api, id, BUILD_OVER, 120_000);
  expect(deployment.state, deployment.reason ?? '').toBe('deploying');
  return Date.now() - started;
}

/** Polls `probe` every 250 ms until it is true, at most `timeoutMs`. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('build output and disk space are bounded', () => {
  it('a build printing 400 MB without newlines leaves another app’s build as fast as before, and stores 1 MiB of it', async () => {
    await useWorker({ logMaxBytes: LOG_BUDGET });
    const steady = await newApp('steady');
    const loud = await newApp('loud');
    await timedBuild(steady, { Dockerfile: tinyDockerfile(`warm-up-${run}`) }); // the base image's first use
    const baseline = await timedBuild(steady, { Dockerfile: tinyDockerfile(`baseline-${run}`) });

    // 80 writes of 5 MB of one letter, no newline until the end: seconds of output for the worker to read.
    const loudId = await push(loud, {
      Dockerfile: `FROM pier-local/debian:bookworm\nRUN for i in $(seq 1 80); do head -c 5000000 /dev/zero | tr '\\0' a; sleep 0.1; done; echo; echo loud-done-${run}\n`,
    });
    const follower = await openSse(
      `${base}/deployments/${loudId}/logs?follow=1`,
      { authorization: `Bearer ${api.adminToken}` },
      180_000,
    );
    follower.events.catch(() => {}); // closing (or the timeout) aborts the read
    const followed: SseEvent[] = [];
    follower.onEvent((event) => followed.push(event));
    const notice = truncationNotice(LOG_BUDGET);
    await until(
      'the loud build to use up its output budget',
      async () => (await buildLog(api, loudId)).includes(notice),
      120_000,
    );

    const during = await timedBuild(steady, { Dockerfile: tinyDockerfile(`during-${run}`) });
    expect((await getDeployment(api, loudId)).state, 'the loud build was still printing').toBe('building');
    // A worker busy with the output (the old assembler's quadratic copying) takes minutes here.
    expect(during, `baseline ${baseline} ms`).toBeLessThan(Math.max(3 * baseline, baseline + 10_000));

    const loudDone = await waitForState(api, loudId, BUILD_OVER, 180_000);
    expect(loudDone.state, loudDone.reason ?? '').toBe('deploying');
    const res = await api.request({ method: 'GET', url: `/deployments/${loudId}/logs` });
    const lines = (res.json().lines as { line: string }[]).map((l) => l.line);
    expect(lines.at(-1)).toBe(notice);
    expect(lines.filter((line) => line === notice)).toHaveLength(1);
    const stored = lines.slice(0, -1).reduce((sum, line) => sum + Buffer.byteLength(line), 0);
    expect(stored).toBeLessThanOrEqual(LOG_BUDGET);
    expect(stored).toBeGreaterThan(LOG_BUDGET - 8192);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(8192);
    console.info(`steady build: ${baseline} ms alone, ${during} ms beside the loud one; ${stored} bytes stored`);
    expect(lines.includes(`loud-done-${run}`), 'a line after the budget was stored').toBe(false);
    await until('the follower to see the truncation', async () => followed.some((e) => e.data.includes(notice)), 10_000);
    follower.close();
  }, 420_000);

  it('stops a build when free disk space falls below the minimum while it runs', async () => {
    const docker = new DockerRuntime();
    // The minimum is 1 GiB under what is free now; the build writes up to 3 GB.
    const minFreeDiskBytes = (await docker.freeDiskBytes()) - 1024 * MiB;
    const w = await useWorker({ minFreeDiskBytes, diskCheckIntervalMs: 250 });
    const app = await newApp('disk');
    const started = Date.now();
    const id = await push(app, {
      Dockerfile: `FROM pier-local/debian:bookworm\nRUN echo filling-${run}; for i in $(seq 1 60); do head -c 50000000 /dev/zero > /fill-$i; sleep 0.05; done\n`,
    });
    const deployment = await waitForState(api, id, BUILD_OVER, 180_000);
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toMatch(
      /^the build was stopped: free disk space ran low: \d+ MiB free, at least \d+ MiB required; remove unused images or grow the disk/,
    );
    expect(Date.now() - started).toBeLessThan(120_000);
    const log = await buildLog(api, id);
    expect(log).toContain(`filling-${run}`);
    for (const container of announcedContainers(log)) expect(await containerExists(w.docker, container)).toBe(false);
    expect(await w.docker.listImages({ 'pier.app': app.name })).toEqual([]);
    // The layer being written went with its container: the space is back.
    expect(await docker.freeDiskBytes()).toBeGreaterThan(minFreeDiskBytes);
  }, 240_000);
});
