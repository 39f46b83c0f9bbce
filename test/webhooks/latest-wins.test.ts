import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, uniqueAppName } from './webhook-fixtures.ts';

/**
 * Latest wins, with no worker running: 50 pushes to one environment at once
 * leave exactly one deployment queued, the other 49 superseded, each with its
 * outbox record (the deployment and its outbox entry are one transaction).
 */

let api: TestApi;
let app: CreatedApp;
const REPO = 'acme-burst/site';
const PUSHES = 50;

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('burst'), { fullName: REPO, cloneUrl: 'file:///srv/git/burst.git' });
});
afterAll(async () => api?.close());

describe('50 concurrent pushes to one environment, no worker', () => {
  let answers: Awaited<ReturnType<typeof sendWebhook>>[];
  let shas: string[];

  beforeAll(async () => {
    shas = Array.from({ length: PUSHES }, (_, i) => fakeSha(`burst-${i}`));
    answers = await Promise.all(
      shas.map((sha) =>
        sendWebhook(api.app, {
          event: 'push',
          payload: pushPayload(REPO, 'refs/heads/main', sha),
          secret: app.secret,
          deliveryId: randomUUID(),
        }),
      ),
    );
  });

  it('answers every delivery 202 with its own staging deployment', () => {
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json().deployments).toEqual([{ id: expect.any(String), app: app.name, environment: 'staging' }]);
    }
    const ids = answers.map((res) => res.json().deployments[0].id);
    expect(new Set(ids).size).toBe(PUSHES);
  });

  it('leaves exactly one queued and 49 superseded, with 50 outbox records', async () => {
    const states = await api.database.sql<{ state: string; n: number }[]>`
      select state, count(*)::int as n from deployments group by state order by state`;
    expect(states.map((s) => [s.state, s.n])).toEqual([
      ['queued', 1],
      ['superseded', PUSHES - 1],
    ]);
    const [outbox] = await api.database.sql<{ n: number; distinct: number; build: number }[]>`
      select count(*)::int as n, count(distinct deployment_id)::int as distinct,
             count(*) filter (where job = 'build')::int as build
      from outbox`;
    expect(outbox).toEqual({ n: PUSHES, distinct: PUSHES, build: PUSHES });
    const [deliveries] = await api.database.sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries`;
    expect(deliveries?.n).toBe(PUSHES);
    // Each push's commit is on exactly one deployment.
    const commits = await api.database.sql<{ commit_sha: string }[]>`select commit_sha from deployments`;
    expect(commits.map((c) => c.commit_sha).sort()).toEqual([...shas].sort());
  });

  it('records the supersede chain: each superseded one names the next, ending at the queued one', async () => {
    const [queued] = await api.database.sql<{ id: string }[]>`select id from deployments where state = 'queued'`;
    const superseded = await api.database.sql<{ deployment_id: string; message: string }[]>`
      select deployment_id, message from deployment_events where to_state = 'superseded'`;
    expect(superseded).toHaveLength(PUSHES - 1);
    const next = new Map(superseded.map((e) => [e.deployment_id, e.message.replace('superseded by ', '')]));
    // Walk back from the queued one: every deployment is reached exactly once.
    const previous = new Map([...next].map(([from, to]) => [to, from]));
    const seen = new Set<string>();
    for (let id: string | undefined = queued?.id; id; id = previous.get(id)) {
      expect(seen.has(id)).toBe(false);
      seen.add(id);
    }
    expect(seen.size).toBe(PUSHES);
    // The queued one was the last to be written: its outbox record is the newest.
    const [newest] = await api.database.sql<{ deployment_id: string }[]>`
      select deployment_id from outbox order by id desc limit 1`;
    expect(newest?.deployment_id).toBe(queued?.id);
  });

  it('shows the states and reasons through the API', async () => {
    const res = await api.request({ method: 'GET', url: `/apps/${app.name}/environments/staging/deployments` });
    expect(res.statusCode).toBe(200);
    const { deployments } = res.json();
    expect(deployments).toHaveLength(PUSHES);
    const queued = deployments.filter((d: { state: string }) => d.state === 'queued');
    expect(queued).toHaveLength(1);
    for (const d of deployments.filter((d: { state: string }) => d.state === 'superseded')) {
      expect(d.reason).toContain('newer deployment');
      expect(d.finishedAt).not.toBeNull();
    }
  });

  it('lets the queued one be superseded by the next push, and leaves other environments alone', async () => {
    const [before] = await api.database.sql<{ id: string }[]>`select id from deployments where state = 'queued'`;
    const tag = pushPayload(REPO, 'refs/tags/v1.0.0', fakeSha('tag'));
    const tagged = await sendWebhook(api.app, { event: 'push', payload: tag, secret: app.secret });
    expect(tagged.json().deployments[0].environment).toBe('production');
    const [still] = await api.database.sql<{ state: string }[]>`select state from deployments where id = ${before?.id ?? ''}`;
    expect(still?.state).toBe('queued');
    await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload(REPO, 'refs/heads/main', fakeSha('later')),
      secret: app.secret,
    });
    const [after] = await api.database.sql<{ state: string }[]>`select state from deployments where id = ${before?.id ?? ''}`;
    expect(after?.state).toBe('superseded');
    const queued = await api.database.sql`select environment_id from deployments where state = 'queued'`;
    expect(queued).toHaveLength(2);
  });
});
