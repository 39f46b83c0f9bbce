import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { snapshotState } from '../support/api-state.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';
import {
  type CreatedApp,
  createBuildApp,
  expectBuilt,
  openSse,
  type SseEvent,
  stopWorkerAndRemoveDockerObjects,
  tinyDockerfile,
  uniqueAppName,
  waitForBuildOver,
} from './webhook-fixtures.ts';

/** Real Docker builds on a shared two-core machine: generous, the builds themselves take seconds. */
const BUILD_TEST_TIMEOUT_MS = 120_000;
/**
 * Build output of real Docker builds through the API: followed live over
 * Server-Sent Events, stored line by line with the app's variable values
 * masked (also in a failed build's reason), and the deployment's timings,
 * image and events in GET /deployments/:id and the lists.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let app: CreatedApp;
let base: string;
const REPO = 'acme-build-logs/site';
const appName = uniqueAppName('build-logs');
const SECRET = 'supersecretvalue123';
const MASK = '********';

beforeAll(async () => {
  api = await createTestApi();
  repo = new TestGitRepository();
  app = await createBuildApp(api, appName, { fullName: REPO, cloneUrl: repo.url });
  const set = await api.request({
    method: 'PATCH',
    url: `/apps/${appName}/environments/staging/variables`,
    payload: { set: { SECRET_X: SECRET } },
  });
  expect(set.statusCode, set.body).toBeLessThan(300);
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  worker = await startTestWorker(api.database, api.box);
});

afterAll(async () => {
  await stopWorkerAndRemoveDockerObjects(worker, [appName]);
  await api?.close();
  repo?.remove();
});

const auth = () => ({ authorization: `Bearer ${api.adminToken}` });

async function pushCommit(dockerfile: string, message: string): Promise<{ id: string; sha: string }> {
  const sha = repo.commit({ Dockerfile: dockerfile }, message);
  repo.push();
  const res = await sendWebhook(api.app, {
    event: 'push',
    payload: pushPayload(REPO, 'refs/heads/main', sha),
    secret: app.secret,
  });
  expect(res.statusCode, res.body).toBe(202);
  return { id: res.json().deployments[0].id, sha };
}

async function storedLines(id: string): Promise<{ id: number; stream: string; line: string; at: string }[]> {
  const res = await api.request({ method: 'GET', url: `/deployments/${id}/logs` });
  expect(res.statusCode).toBe(200);
  return res.json().lines;
}

/** Everything a user or operator could read that might carry the secret. */
async function everythingReadable(id: string): Promise<string> {
  const shown = await Promise.all([
    api.request({ method: 'GET', url: `/deployments/${id}` }),
    api.request({ method: 'GET', url: `/deployments/${id}/logs` }),
    api.request({ method: 'GET', url: `/apps/${appName}/deployments` }),
  ]);
  const { variables: _sealed, ...tables } = await snapshotState(api.database.sql);
  return [...shown.map((r) => r.body), JSON.stringify(tables), api.logs.join(''), worker.logs.join('')].join('\n');
}

let built: { id: string; sha: string };
let failed: { id: string; sha: string };
let streamed: SseEvent[];

describe('a successful build', () => {
  it(
    'can be followed live: lines arrive while it runs, then `event: end`',
    async () => {
      built = await pushCommit(
        tinyDockerfile(`echo ${SECRET} && echo first-${appName} && sleep 2 && echo second-${appName}`),
        'echo the secret',
      );
      // Follow from the moment it is queued.
      const stream = await openSse(`${base}/deployments/${built.id}/logs?follow=1`, auth(), 120_000);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      streamed = await stream.events;

      const done = await waitForBuildOver(api, built.id);
      expect(done.reason).toBeNull();
      expectBuilt(done);

      // The stream ends with the build phase: the deployment is built (and may be live already).
      const end = streamed.at(-1);
      expect(end?.event).toBe('end');
      expect([
        { state: 'deploying', terminal: false },
        { state: 'live', terminal: true },
      ]).toContainEqual(JSON.parse(end?.data ?? '{}'));
      const lines = streamed.filter((e) => e.event === 'line');
      const text = lines.map((e) => JSON.parse(e.data).line as string);
      expect(text).toContain(`fetching commit ${built.sha}`);
      expect(text).toContain(`first-${appName}`);
      expect(text).toContain(`second-${appName}`);
      // Live: the first lines came before the build was over, the `sleep 2` shows between the two echoes.
      const finished = Date.parse(done.buildFinishedAt);
      expect(lines[0]?.receivedAt).toBeLessThan(finished);
      const first = lines.find((e) => JSON.parse(e.data).line === `first-${appName}`);
      const second = lines.find((e) => JSON.parse(e.data).line === `second-${appName}`);
      expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThan(1000);
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  it(
    'stores the same lines it streamed, in order, none lost',
    async () => {
      // The build's lines end with `built …`. The deploy phase adds its own after it, and the follow, which ends
      // once it sees the build over, may already have sent some of those: what it sent is the stored lines from
      // the first on, in order, none lost, through `built …` at least.
      const all = await storedLines(built.id);
      const builtAt = all.findIndex((l) => l.line.startsWith('built pier/'));
      const lines = streamed.filter((e) => e.event === 'line');
      expect(lines.length).toBeGreaterThan(builtAt);
      const stored = all.slice(0, lines.length);
      expect(lines.map((e) => Number(e.id))).toEqual(stored.map((l) => l.id));
      expect(lines.map((e) => JSON.parse(e.data).line)).toEqual(stored.map((l) => l.line));
      expect(all[builtAt]?.line).toMatch(/^built pier\/.+ \(sha256:[0-9a-f]{64}\)$/);
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  it(
    "masks the value of the app's variable in the stored and streamed lines",
    async () => {
      const stored = (await storedLines(built.id)).map((l) => l.line);
      // The Dockerfile step and the echo output both carried it.
      expect(stored.filter((l) => l.includes(MASK)).length).toBeGreaterThanOrEqual(2);
      expect(stored).toContain(MASK);
      expect(stored.join('\n')).not.toContain(SECRET);
      expect(streamed.map((e) => e.data).join('\n')).not.toContain(SECRET);
      expect(await everythingReadable(built.id)).not.toContain(SECRET);
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  it(
    'shows timings, image and events in GET /deployments/:id',
    async () => {
      const res = await api.request({ method: 'GET', url: `/deployments/${built.id}` });
      expect(res.statusCode).toBe(200);
      const d = res.json();
      expect(d).toMatchObject({
        id: built.id,
        app: appName,
        environment: 'staging',
        trigger: 'push',
        ref: 'refs/heads/main',
        commit: built.sha,
        reason: null,
        cancelRequested: false,
        image: { id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), tag: `pier/${appName}:${built.sha}` },
      });
      const queuedAt = Date.parse(d.queuedAt);
      const startedAt = Date.parse(d.buildStartedAt);
      const finishedAt = Date.parse(d.buildFinishedAt);
      expect(queuedAt).toBeLessThanOrEqual(startedAt);
      expect(startedAt).toBeLessThan(finishedAt);
      // The `sleep 2` is inside the build.
      expect(finishedAt - startedAt).toBeGreaterThanOrEqual(2000);
      expectBuilt(d);
      // Then the deploy phase may have taken it further.
      expect(d.events.slice(0, 3).map((e: { from: string | null; to: string }) => [e.from, e.to])).toEqual([
        [null, 'queued'],
        ['queued', 'building'],
        ['building', 'deploying'],
      ]);
      for (const e of d.events) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
      expect(d.events[2].message).toBe(`built pier/${appName}:${built.sha}`);
      // The image is the one Docker has.
      const [image] = await worker.docker.listImages({ 'pier.app': appName, 'pier.commit': built.sha });
      expect(image?.imageId).toBe(d.image.id);
    },
    BUILD_TEST_TIMEOUT_MS,
  );
});

describe('a failing build', () => {
  it(
    "ends failed with the build's last lines as the reason, the secret masked",
    async () => {
      failed = await pushCommit(tinyDockerfile(`echo ${SECRET} && echo failing-${appName} && exit 3`), 'fail');
      const done = await waitForBuildOver(api, failed.id);
      expect(done.state).toBe('failed');
      expect(done.image).toBeNull();
      expect(done.reason).toContain('build failed');
      expect(done.reason).toContain(`failing-${appName}`);
      expect(done.reason).toContain(MASK);
      expect(done.reason).not.toContain(SECRET);
      expect(done.buildFinishedAt).not.toBeNull();
      expect(done.finishedAt).not.toBeNull();
      expect(done.events.map((e: { to: string }) => e.to)).toEqual(['queued', 'building', 'failed']);
      expect(done.events[2].message).not.toContain(SECRET);

      const stored = (await storedLines(failed.id)).map((l) => l.line);
      expect(stored).toContain(`failing-${appName}`);
      expect(stored).toContain(MASK);
      expect(stored.join('\n')).not.toContain(SECRET);
      expect(await everythingReadable(failed.id)).not.toContain(SECRET);
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  it(
    'follow on the finished build sends its stored lines and ends with its terminal state',
    async () => {
      const events = await (await openSse(`${base}/deployments/${failed.id}/logs?follow=1`, auth())).events;
      expect(events.filter((e) => e.event === 'line').length).toBe((await storedLines(failed.id)).length);
      expect(events.at(-1)?.event).toBe('end');
      expect(JSON.parse(events.at(-1)?.data ?? '{}')).toEqual({ state: 'failed', terminal: true });
    },
    BUILD_TEST_TIMEOUT_MS,
  );
});

describe('the lists', () => {
  it(
    'show both deployments newest first, per app and per environment, with the same fields',
    async () => {
      const byApp = (await api.request({ method: 'GET', url: `/apps/${appName}/deployments` })).json().deployments;
      const byEnv = (await api.request({ method: 'GET', url: `/apps/${appName}/environments/staging/deployments` })).json()
        .deployments;
      const production = (
        await api.request({ method: 'GET', url: `/apps/${appName}/environments/production/deployments` })
      ).json().deployments;
      expect(production).toEqual([]);
      expect(byEnv).toEqual(byApp);
      expect(byApp.map((d: { id: string }) => d.id)).toEqual([failed.id, built.id]);
      expect(byApp[0].state).toBe('failed');
      const shown = (await api.request({ method: 'GET', url: `/deployments/${built.id}` })).json();
      const { events: _events, ...withoutEvents } = shown;
      expect(byApp[1]).toEqual(withoutEvents);
      for (const d of byApp) {
        expect(Object.keys(d).sort()).toEqual(
          [
            'app',
            'buildFinishedAt',
            'buildStartedAt',
            'cancelRequested',
            'commit',
            'environment',
            'finishedAt',
            'id',
            'image',
            'prebuiltImage',
            'queuedAt',
            'reason',
            'ref',
            'state',
            'trigger',
          ].sort(),
        );
      }
    },
    BUILD_TEST_TIMEOUT_MS,
  );
});
