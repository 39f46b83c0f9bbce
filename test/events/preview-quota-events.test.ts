import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullRequestPayload } from '../previews/pull-request-payloads.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { sendWebhook } from '../support/webhooks.ts';
import { createApp, fakeSha, uniqueAppName } from '../webhooks/webhook-fixtures.ts';

/**
 * A pull request whose preview the app's quota refuses is recorded as
 * `quota.refused` in the app's event log (once per delivery), through the
 * real webhook intake on a real Postgres.
 */

let api: TestApi;

beforeAll(async () => {
  api = await createTestApi({ quotas: { environments: 10, previews: 1, forkPreviews: 1, replicas: 30, domains: 10 } });
});
afterAll(async () => api?.close());

describe('a preview refused for a quota', () => {
  it('is recorded in the app event log with the reason the delivery gives', async () => {
    const repo = 'acme-events/previews';
    const app = await createApp(api, uniqueAppName('pq'), { fullName: repo, cloneUrl: 'file:///srv/git/pq.git' });
    const open = (number: number) =>
      sendWebhook(api.app, {
        event: 'pull_request',
        payload: pullRequestPayload({ repository: repo, number, action: 'opened', sha: fakeSha(`pq-${number}`) }),
        secret: app.secret,
      });
    expect((await open(1)).json().deployments).toHaveLength(1);
    const refused = await open(2);
    expect(refused.statusCode).toBe(202);
    expect(refused.json().deployments).toEqual([]);
    const res = await api.request({ method: 'GET', url: `/apps/${app.name}/events?kind=quota.refused` });
    const events = res.json().events;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ app: app.name, severity: 'warning' });
    const reason =
      'no preview for pull request #2: the app would have 2 open previews, more than its quota of 1 (PIER_QUOTA_PREVIEWS)';
    expect(refused.json().ignored).toContain(reason);
    expect(events[0].message).toBe(`${app.name}: refused for a quota: ${reason}`);
  });
});
