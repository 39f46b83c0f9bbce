import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullRequestPayload } from '../previews/pull-request-payloads.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { snapshotState } from '../support/api-state.ts';
import { sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, uniqueAppName } from '../webhooks/webhook-fixtures.ts';

/**
 * Per-app caps: a flood of pull requests from forks stops at the app's fork
 * previews (the deliveries say why) however many arrive at once, and
 * environments, replicas and custom domains stop at theirs with a 409 naming
 * the field and the setting; nothing past a cap is written.
 */

const QUOTAS = { environments: 3, previews: 4, forkPreviews: 2, replicas: 6, domains: 2 };
let api: TestApi;

beforeAll(async () => {
  api = await createTestApi({ quotas: QUOTAS });
});
afterAll(async () => api?.close());

async function newApp(prefix: string, fullName?: string): Promise<CreatedApp> {
  return createApp(api, uniqueAppName(prefix), fullName ? { fullName, cloneUrl: 'file:///srv/git/quota.git' } : undefined);
}

describe('a flood of fork pull requests', () => {
  it('gets at most the fork quota of previews, however many arrive at once, and the others say why', async () => {
    const repo = 'acme-quota/flood';
    const app = await newApp('flood', repo);
    const patched = await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { forkPreviews: true } });
    expect(patched.statusCode, patched.body).toBe(200);

    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        sendWebhook(api.app, {
          event: 'pull_request',
          payload: pullRequestPayload({
            repository: repo,
            number: 100 + i,
            action: 'opened',
            sha: fakeSha(`fork-${i}`),
            fork: true,
          }),
          secret: app.secret,
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(12).fill(202));
    const queued = answers.filter((a) => a.json().deployments.length === 1);
    const refused = answers.filter((a) => a.json().deployments.length === 0);
    expect(queued).toHaveLength(QUOTAS.forkPreviews);
    for (const answer of refused) expect(answer.json().ignored).toContain('more than its quota of 2 (PIER_QUOTA_FORK_PREVIEWS)');

    const envs = await api.request({ method: 'GET', url: `/apps/${app.name}` });
    expect(envs.json().environments.filter((e: { name: string }) => e.name.startsWith('pr-'))).toHaveLength(QUOTAS.forkPreviews);

    // A pull request from the repository itself still fits the previews quota.
    const own = await sendWebhook(api.app, {
      event: 'pull_request',
      payload: pullRequestPayload({ repository: repo, number: 200, action: 'opened', sha: fakeSha('own') }),
      secret: app.secret,
    });
    expect(own.json().deployments).toHaveLength(1);
  });
});

describe('environments, replicas and domains', () => {
  it('stop at their quotas with a 409 naming the field, and write nothing', async () => {
    const app = await newApp('caps');
    const created = await api.request({ method: 'POST', url: `/apps/${app.name}/environments`, payload: { name: 'qa' } });
    expect(created.statusCode, created.body).toBe(201);

    let before = await snapshotState(api.database.sql);
    const fourth = await api.request({ method: 'POST', url: `/apps/${app.name}/environments`, payload: { name: 'demo' } });
    expect(fourth.statusCode, fourth.body).toBe(409);
    expect(fourth.json().error.message).toBe(
      'name: the app would have 4 environments (previews aside), more than its quota of 3 (PIER_QUOTA_ENVIRONMENTS)',
    );
    expect(await snapshotState(api.database.sql)).toEqual(before);

    // 3 environments of 1 replica: 3 more fit, a 4th does not.
    const scaled = await api.request({ method: 'PATCH', url: `/apps/${app.name}/environments/qa`, payload: { replicas: 4 } });
    expect(scaled.statusCode, scaled.body).toBe(200);
    before = await snapshotState(api.database.sql);
    const tooMany = await api.request({
      method: 'PATCH',
      url: `/apps/${app.name}/environments/staging`,
      payload: { replicas: 2 },
    });
    expect(tooMany.statusCode, tooMany.body).toBe(409);
    expect(tooMany.json().error.message).toMatch(/^replicas: the app would have 7 replicas .*PIER_QUOTA_REPLICAS/);
    expect(await snapshotState(api.database.sql)).toEqual(before);
    // Scaling down is always allowed.
    const down = await api.request({ method: 'PATCH', url: `/apps/${app.name}/environments/qa`, payload: { replicas: 1 } });
    expect(down.statusCode, down.body).toBe(200);

    for (const host of ['one.example.com', 'two.example.com']) {
      const added = await api.request({
        method: 'POST',
        url: `/apps/${app.name}/environments/production/domains`,
        payload: { hostname: host },
      });
      expect(added.statusCode, added.body).toBe(201);
    }
    before = await snapshotState(api.database.sql);
    const third = await api.request({
      method: 'POST',
      url: `/apps/${app.name}/environments/staging/domains`,
      payload: { hostname: 'three.example.com' },
    });
    expect(third.statusCode, third.body).toBe(409);
    expect(third.json().error.message).toMatch(/^body\.hostname: .*PIER_QUOTA_DOMAINS/);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });
});
