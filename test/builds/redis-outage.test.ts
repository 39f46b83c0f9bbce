import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobQueue } from '@pier/queue';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { freePort } from '../support/processes.ts';
import type { TestWorker } from '../support/worker.ts';
import {
  BUILD_OVER,
  createApp,
  expectBuilt,
  getDeployment,
  pushCommit,
  removeAppObjects,
  startBuildWorker,
  tinyDockerfile,
  waitForState,
} from './build-harness.ts';

/**
 * Postgres is the truth (issue 3): webhooks are answered and recorded while
 * Redis is down, and the work is queued when it returns; when Redis loses its
 * data, the relay re-enqueues from Postgres. Runs a private redis-server.
 */

/** A redis-server of this test's own, on a loopback port, keeping nothing on disk. */
class PrivateRedis {
  #process: ChildProcess | undefined;
  readonly #directory = mkdtempSync(join(tmpdir(), 'pier-redis-'));

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = spawn('redis-server', args, { cwd: this.#directory, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
      child.stdout?.on('data', (chunk) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
    child.removeAllListeners('exit');
  }

  /** Ends the server by its PID and waits until it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, signal);
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop('SIGTERM');
    rmSync(this.#directory, { recursive: true, force: true });
  }
}

const run = randomBytes(3).toString('hex');
const appName = `redis-outage-${run}`;
const fullName = `acme/${appName}`;
let redis: PrivateRedis;
let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;

beforeAll(async () => {
  redis = new PrivateRedis(await freePort());
  await redis.start();
  api = await createTestApi({ redisUrl: redis.url });
  worker = await startBuildWorker(api, { redisUrl: redis.url });
  repo = new TestGitRepository();
  secret = await createApp(api, appName, fullName, repo);
});

afterAll(async () => {
  await worker?.stop();
  if (worker) await removeAppObjects(worker.docker, [appName]);
  await api?.close();
  await redis?.remove();
  repo?.remove();
});

async function outboxOf(ids: string[]) {
  return api.database.sql<{ deploymentId: string; job: string; enqueuedAt: Date | null }[]>`
    select deployment_id as "deploymentId", job, enqueued_at as "enqueuedAt"
    from outbox where deployment_id in ${api.database.sql(ids)}`;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('Redis outage', () => {
  it('pushes while Redis is down are answered at once and recorded; the newest is built when Redis returns', async () => {
    await redis.stop('SIGKILL');
    const shas = [1, 2, 3, 4, 5].map((n) => repo.commit({ Dockerfile: tinyDockerfile(`outage-${run}-${n}`) }, `commit ${n}`));
    repo.push();

    const ids: string[] = [];
    const answerMs: number[] = [];
    for (const sha of shas) {
      const sent = Date.now();
      ids.push(await pushCommit(api, fullName, secret, sha));
      answerMs.push(Date.now() - sent);
    }
    // Redis being down costs the webhook nothing. The median, so one slow moment of a shared machine does not decide.
    answerMs.sort((a, b) => a - b);
    expect(answerMs[Math.floor(answerMs.length / 2)], `webhook answer times (ms): ${answerMs.join(', ')}`).toBeLessThan(1000);
    // Give the relay time to try (and fail): nothing may be marked enqueued while Redis is down.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const pending = await outboxOf(ids);
    expect(pending).toHaveLength(5);
    expect(pending.every((e) => e.job === 'build' && e.enqueuedAt === null)).toBe(true);
    const states = await Promise.all(ids.map(async (id) => (await getDeployment(api, id)).state));
    expect(states).toEqual(['superseded', 'superseded', 'superseded', 'superseded', 'queued']);

    await redis.start();
    const newest = await waitForState(api, ids[4] ?? '', BUILD_OVER, 60_000);
    expect(newest.reason).toBeNull();
    expect(newest.state).toBe('deploying');
    expectBuilt(newest, `pier/${appName}:${shas[4]}`);
    const relayed = await outboxOf(ids);
    expect(relayed.filter((e) => e.job === 'build').every((e) => e.enqueuedAt !== null)).toBe(true);
    for (const id of ids.slice(0, 4)) {
      const older = await getDeployment(api, id);
      expect(older.state).toBe('superseded');
      expect(older.buildStartedAt).toBeNull();
    }
  }, 90_000);

  it('when Redis loses its data while a deployment is queued, the relay re-enqueues it from Postgres and it builds', async () => {
    // Stop consuming first, so that the job sits in the queue.
    await worker.runtime.builds.close();
    const sha = repo.commit({ Dockerfile: tinyDockerfile(`flushed-${run}`) }, 'after the flush');
    repo.push();
    const id = await pushCommit(api, fullName, secret, sha);
    await until('the build job is in the queue', () => worker.runtime.queue.has('build', id));
    await worker.stop();

    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const queue = new JobQueue({ connection: client, prefix: worker.prefix });
    try {
      expect(await queue.has('build', id)).toBe(true);
      await client.flushall();
      expect(await queue.has('build', id)).toBe(false);
    } finally {
      await queue.close();
      client.disconnect();
    }
    expect((await getDeployment(api, id)).state).toBe('queued');

    worker = await startBuildWorker(api, { redisUrl: redis.url, prefix: worker.prefix });
    const built = await waitForState(api, id, BUILD_OVER, 60_000);
    expect(built.reason).toBeNull();
    expect(built.state).toBe('deploying');
    expectBuilt(built, `pier/${appName}:${sha}`);
    expect(worker.logs.join('')).toContain('job missing from the queue, re-enqueued');
  }, 90_000);
});
