import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';
import {
  type CreatedApp,
  createBuildApp,
  expectBuilt,
  stopWorkerAndRemoveDockerObjects,
  tinyDockerfile,
  uniqueAppName,
  waitForBuildOver,
  waitForState,
} from './webhook-fixtures.ts';

/** Real Docker builds on a shared two-core machine: generous, the builds themselves take seconds. */
const BUILD_TEST_TIMEOUT_MS = 120_000;
/**
 * Latest wins with the real worker and Docker: 50 pushes at once (of three
 * real commits) to one environment end in at most two builds, and the newest
 * push is the one built last. The payloads name a clone URL that does not
 * exist: the worker clones from the app's configuration.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let app: CreatedApp;
const REPO = 'acme-burst-build/site';
const PUSHES = 50;
const appName = uniqueAppName('burst-build');

beforeAll(async () => {
  api = await createTestApi();
  repo = new TestGitRepository();
  app = await createBuildApp(api, appName, { fullName: REPO, cloneUrl: repo.url });
  worker = await startTestWorker(api.database, api.box);
});

afterAll(async () => {
  await stopWorkerAndRemoveDockerObjects(worker, [appName]);
  await api?.close();
  repo?.remove();
});

describe('50 concurrent pushes with a worker running', () => {
  it(
    'build at most twice, the newest push last, from the configured repository',
    async () => {
      const commits = [1, 2, 3].map((n) =>
        repo.commit({ Dockerfile: tinyDockerfile(`echo built-${n}-${appName}`) }, `commit ${n}`),
      );
      repo.push();

      const answers = await Promise.all(
        Array.from({ length: PUSHES }, (_, i) => {
          const payload = pushPayload(REPO, 'refs/heads/main', commits[i % commits.length] as string);
          payload.repository.clone_url = 'file:///nonexistent/attacker.git';
          payload.repository.html_url = 'https://evil.invalid/attacker';
          return sendWebhook(api.app, { event: 'push', payload, secret: app.secret, deliveryId: randomUUID() });
        }),
      );
      for (const res of answers) expect(res.statusCode, res.body).toBe(202);

      // The newest is the last one written (the environment's row lock orders them): the highest outbox id.
      const [newest] = await api.database.sql<{ id: string; sha: string }[]>`
      select d.id, d.commit_sha as sha from outbox o join deployments d on d.id = o.deployment_id
      where o.job = 'build' order by o.id desc limit 1`;
      if (!newest) throw new Error('no deployment');
      const done = await waitForBuildOver(api, newest.id);
      expect(done.reason).toBeNull();
      expectBuilt(done);
      expect(done.commit).toBe(newest.sha);
      expect(done.image).toEqual({ id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), tag: `pier/${appName}:${newest.sha}` });

      // Nothing is left to build: the others were superseded, or built (and maybe deployed since).
      const states = await api.database.sql<{ state: string }[]>`select distinct state from deployments`;
      for (const { state } of states) expect(['superseded', 'deploying', 'live']).toContain(state);

      const built = await api.database.sql<{ deployment_id: string }[]>`
      select distinct deployment_id from deployment_events where to_state = 'building'`;
      expect(built.length).toBeGreaterThanOrEqual(1);
      expect(built.length).toBeLessThanOrEqual(2);
      const started = await api.database.sql<{ id: string }[]>`select id from deployments where build_started_at is not null`;
      expect(started.map((d) => d.id).sort()).toEqual(built.map((b) => b.deployment_id).sort());
      // A build once started is never superseded: each ran to its image.
      const [{ imaged } = { imaged: -1 }] = await api.database.sql<{ imaged: number }[]>`
      select count(*)::int as imaged from deployments where build_started_at is not null and image_id is not null
        and exists (select 1 from deployment_events e where e.deployment_id = deployments.id
                    and e.from_state = 'building' and e.to_state = 'deploying')`;
      expect(imaged).toBe(built.length);
      expect(built.map((b) => b.deployment_id)).toContain(newest.id);

      // The image of the newest is the one Docker has under its commit's tag, with the build output of that commit.
      const [image] = await worker.docker.listImages({ 'pier.app': appName, 'pier.commit': newest.sha });
      expect(image?.imageId).toBe(done.image.id);
      const logs = (await api.request({ method: 'GET', url: `/deployments/${newest.id}/logs` })).json();
      const text = logs.lines.map((l: { line: string }) => l.line).join('\n');
      expect(text).toContain(`built-${commits.indexOf(newest.sha) + 1}-${appName}`);
      expect(text).not.toContain('attacker');
      expect(JSON.stringify(await api.database.sql`select * from deployment_log_lines`)).not.toContain('evil.invalid');
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  it(
    'arriving while a build runs: that build finishes, then only the newest builds',
    async () => {
      const slowSha = repo.commit({ Dockerfile: tinyDockerfile(`echo slow-${appName} && sleep 6`) }, 'slow');
      const commits = [1, 2, 3].map((n) =>
        repo.commit({ Dockerfile: tinyDockerfile(`echo later-${n}-${appName}`) }, `later ${n}`),
      );
      repo.push();
      const [marker] = await api.database.sql<{ id: number }[]>`select coalesce(max(id), 0)::int as id from deployment_events`;

      const slow = await sendWebhook(api.app, {
        event: 'push',
        payload: pushPayload(REPO, 'refs/heads/main', slowSha),
        secret: app.secret,
      });
      const slowId: string = slow.json().deployments[0].id;
      await waitForState(api, slowId, ['building'], 30_000);

      const burstStarted = Date.now();
      const answers = await Promise.all(
        Array.from({ length: PUSHES }, (_, i) =>
          sendWebhook(api.app, {
            event: 'push',
            payload: pushPayload(REPO, 'refs/heads/main', commits[i % commits.length] as string),
            secret: app.secret,
          }),
        ),
      );
      const burstEnded = Date.now();
      for (const res of answers) expect(res.statusCode, res.body).toBe(202);
      // The burst repeats three commits with one pushed_at: a delivery of a commit already applied in that second
      // is a replay, answered with the reason and queuing nothing; the first of each commit is queued.
      const queued = answers.filter((res) => res.json().deployments.length === 1).length;
      for (const res of answers.filter((r) => r.json().deployments.length === 0)) {
        expect(res.json().ignored).toContain('the same delivery, already applied');
      }

      const [newest] = await api.database.sql<{ id: string }[]>`
      select deployment_id as id from outbox o where o.job = 'build' order by o.id desc limit 1`;
      if (!newest) throw new Error('no deployment');
      const last = await waitForBuildOver(api, newest.id);
      expectBuilt(last);
      const first = await waitForBuildOver(api, slowId);
      // The premise: the whole burst arrived while the slow build ran (else a third build would be right).
      expect(Date.parse(first.buildStartedAt)).toBeLessThan(burstStarted);
      expect(Date.parse(first.buildFinishedAt)).toBeGreaterThan(burstEnded);
      // The burst did not touch the running build: it ran to its image.
      expectBuilt(first);
      expect(first.commit).toBe(slowSha);

      const built = await api.database.sql<{ deployment_id: string }[]>`
      select distinct deployment_id from deployment_events where to_state = 'building' and id > ${marker?.id ?? 0}`;
      expect(built.map((b) => b.deployment_id).sort()).toEqual([slowId, newest.id].sort());
      // One at a time: the newest started only once the running one had its image.
      expect(Date.parse(last.buildStartedAt)).toBeGreaterThanOrEqual(Date.parse(first.buildFinishedAt));
      const [{ superseded } = { superseded: -1 }] = await api.database.sql<{ superseded: number }[]>`
      select count(*)::int as superseded from deployment_events where from_state = 'queued' and to_state = 'superseded' and id > ${marker?.id ?? 0}`;
      expect(superseded).toBe(queued - 1);
      expect(queued).toBe(3);
    },
    BUILD_TEST_TIMEOUT_MS,
  );
});
