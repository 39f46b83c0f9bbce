import { randomBytes, randomUUID } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { signPayload } from '@pier/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import { pushPayload } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';
import { checkSuitePayload } from './check-payloads.ts';
import { BUILD_OVER, expectBuilt, stopWorkerAndRemoveDockerObjects, tinyDockerfile, uniqueAppName } from './webhook-fixtures.ts';

/**
 * The CI gate end to end: the real api process takes signed GitHub
 * deliveries, the real worker builds with Docker from a real git repository.
 * Staging waits by default once the repository has reported a check: a push
 * waits for its commit's check suite, builds when it succeeds, is skipped
 * (naming the failing suite) when it fails, and is skipped by the worker when
 * its checks run out of time.
 */

const secretKey = randomBytes(32);
const adminToken = randomBytes(32).toString('hex');
const appName = uniqueAppName('gate-build');
const REPO = `acme-gate-build/${appName}`;
let database: TestDatabase;
let api: RunningProcess | undefined;
let base = '';
let worker: TestWorker | undefined;
let repo: TestGitRepository;
let webhookSecret = '';

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A delivery as GitHub sends it: raw JSON bytes, signed with the app's webhook secret. */
async function deliver(event: string, payload: unknown) {
  const body = Buffer.from(JSON.stringify(payload));
  const res = await fetch(`${base}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signPayload(body, webhookSecret),
      'user-agent': 'GitHub-Hookshot/test',
    },
    body,
  });
  const answer = (await res.json()) as Record<string, any>;
  expect(res.status, JSON.stringify(answer)).toBe(202);
  return answer;
}

async function pushCommit(sha: string) {
  const answer = await deliver('push', pushPayload(REPO, 'refs/heads/main', sha));
  expect(answer.deployments).toHaveLength(1);
  return answer.deployments[0] as { id: string; state?: string };
}

async function waitForState(id: string, states: string[], timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await call('GET', `/deployments/${id}`);
    if (states.includes(body.state)) return body;
    if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${body.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function outboxJobs(id: string): Promise<string[]> {
  return (await database.sql`select job from outbox where deployment_id = ${id}`).map((r) => r.job as string);
}

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = startScript('apps/api/src/main.ts', {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: secretKey.toString('base64'),
    PIER_ADMIN_TOKEN: adminToken,
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_API_PORT: String(port),
    PIER_LOG_FORMAT: 'json',
  });
  await waitForHttp(`${base}/health`, 200, 60_000);
  repo = new TestGitRepository();
  const created = await call('POST', '/apps', { name: appName, repository: { fullName: REPO, cloneUrl: repo.url } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  webhookSecret = created.body.webhookSecret;
  // The images built here only print: staging runs no replicas, so the deploy phase has nothing to start.
  const patched = await call('PATCH', `/apps/${appName}/environments/staging`, { replicas: 0 });
  expect(patched.body).toMatchObject({ waitForChecks: null });
  worker = await startTestWorker(database, new SecretBox(secretKey));
}, 90_000);

afterAll(async () => {
  await stopWorkerAndRemoveDockerObjects(worker, [appName]);
  if (api && api.child.exitCode === null && api.child.signalCode === null) {
    signalGroup(api, 'SIGTERM');
    await exitWithin(api, 10_000).catch(() => signalGroup(api as RunningProcess, 'SIGKILL'));
  }
  await database?.destroy();
  repo?.remove();
});

describe('staging behind the CI gate, with the real api process and worker', () => {
  it('a push waits for its check suite and builds when it succeeds', async () => {
    // GitHub has reported checks for this repository before (an earlier commit): staging's gate is on by default.
    const earlier = repo.commit({ Dockerfile: tinyDockerfile(`echo earlier-${appName}`) }, 'earlier');
    await deliver('check_suite', checkSuitePayload(REPO, earlier, 'success'));

    const sha = repo.commit({ Dockerfile: tinyDockerfile(`echo gated-${appName}`) }, 'gated');
    repo.push();
    const pushed = await pushCommit(sha);
    expect(pushed.state).toBe('waiting_for_checks');
    const waiting = await call('GET', `/deployments/${pushed.id}`);
    expect(waiting.body).toMatchObject({ state: 'waiting_for_checks', commit: sha, checks: { waitingFor: [], results: [] } });
    expect(await outboxJobs(pushed.id)).toEqual([]);

    const answer = await deliver('check_suite', checkSuitePayload(REPO, sha, 'success'));
    expect(answer.settled).toEqual([{ id: pushed.id, app: appName, environment: 'staging', state: 'queued' }]);
    expect(await outboxJobs(pushed.id)).toEqual(['build']);
    const built = await waitForState(pushed.id, BUILD_OVER);
    expectBuilt(built);
    expect(built.events.map((e: { from: string | null; to: string }) => `${e.from}->${e.to}`).slice(0, 4)).toEqual([
      'null->waiting_for_checks',
      'waiting_for_checks->queued',
      'queued->building',
      'building->deploying',
    ]);
  }, 180_000);

  it('a push whose check suite fails is skipped with the suite named, and never builds', async () => {
    const sha = repo.commit({ Dockerfile: tinyDockerfile(`echo failing-${appName}`) }, 'failing');
    repo.push();
    const pushed = await pushCommit(sha);
    expect(pushed.state).toBe('waiting_for_checks');
    await deliver('check_suite', checkSuitePayload(REPO, sha, 'failure', { app: 'CircleCI Checks' }));
    const skipped = await call('GET', `/deployments/${pushed.id}`);
    expect(skipped.body).toMatchObject({
      state: 'skipped',
      reason: 'check suite "CircleCI Checks" did not pass (failure): not built',
      buildStartedAt: null,
      image: null,
    });
    expect(await outboxJobs(pushed.id)).toEqual([]);
  });

  it('a push whose checks never finish is skipped by the worker after its deadline', async () => {
    await call('PATCH', `/apps/${appName}/environments/staging`, { checksTimeoutMs: 60_000 });
    const sha = repo.commit({ Dockerfile: tinyDockerfile(`echo slow-${appName}`) }, 'slow');
    repo.push();
    const pushed = await pushCommit(sha);
    expect(pushed.state).toBe('waiting_for_checks');
    // The minute is not waited out: the deadline is moved to the past and the worker's pass asked for.
    await database.sql`update deployments set checks_deadline_at = now() - interval '1 second' where id = ${pushed.id}`;
    worker?.runtime.checksDeadline.kick();
    const skipped = await waitForState(pushed.id, ['skipped'], 20_000);
    expect(skipped.reason).toBe("GitHub's checks of the commit did not finish within 1 min (checksTimeoutMs): not built");
    expect(await outboxJobs(pushed.id)).toEqual([]);
  });
});
