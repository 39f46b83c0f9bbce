import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, rowCounts, uniqueAppName } from '../webhooks/webhook-fixtures.ts';
import { type PullRequestOptions, pullRequestPayload } from './pull-request-payloads.ts';

/**
 * What a pull_request delivery writes, without building anything: the
 * preview environment, its variables and its queued build; the fork rules;
 * the close. test/previews/preview-flow.test.ts runs the same through Docker
 * and the proxy.
 */

let api: TestApi;
let app: CreatedApp;
const REPO = 'acme-preview/shop';
const STAGING_SECRET = `staging-secret-${randomUUID()}`;

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('pv'), { fullName: REPO, cloneUrl: 'file:///srv/git/acme-preview-shop.git' });
  await api.request({
    method: 'PATCH',
    url: `/apps/${app.name}/environments/staging`,
    payload: { healthCheck: { path: '/up', intervalMs: 700 }, drainTimeoutMs: 1000, replicas: 3 },
  });
  const vars = await api.request({
    method: 'PATCH',
    url: `/apps/${app.name}/environments/staging/variables`,
    payload: { set: { API_KEY: STAGING_SECRET, MODE: 'staging' } },
  });
  expect(vars.statusCode, vars.body).toBe(200);
});
afterAll(async () => api?.close());

function pull(options: Omit<PullRequestOptions, 'repository'>, deliveryId?: string) {
  return sendWebhook(api.app, {
    event: 'pull_request',
    payload: pullRequestPayload({ repository: REPO, ...options }),
    secret: app.secret,
    deliveryId,
  });
}

const get = async (url: string) => (await api.request({ method: 'GET', url })).json();
const variables = async (env: string) =>
  Object.fromEntries(
    (await get(`/apps/${app.name}/environments/${env}/variables?reveal=true`)).variables.map(
      (v: { key: string; value: string }) => [v.key, v.value],
    ),
  );
const environmentNames = async () =>
  (await get(`/apps/${app.name}/environments`)).environments.map((e: { name: string }) => e.name);

describe('a pull request from the repository', () => {
  it('opened: creates pr-<number> with staging’s variables and health check, and queues its head commit', async () => {
    const sha = fakeSha('pr-11-a');
    const res = await pull({ number: 11, action: 'opened', sha });
    expect(res.statusCode, res.body).toBe(202);
    const [queued] = res.json().deployments;
    expect(res.json()).toEqual({ deployments: [{ id: expect.any(String), app: app.name, environment: 'pr-11' }] });

    const env = await get(`/apps/${app.name}/environments/pr-11`);
    expect(env).toMatchObject({
      name: 'pr-11',
      pullRequest: 11,
      fromFork: false,
      branch: null,
      tagPattern: null,
      replicas: 1,
      drainTimeoutMs: 1000,
      healthCheck: { path: '/up', intervalMs: 700 },
    });
    expect(await variables('pr-11')).toEqual({ API_KEY: STAGING_SECRET, MODE: 'staging' });
    expect(await get(`/deployments/${queued.id}`)).toMatchObject({
      state: 'queued',
      trigger: 'push',
      ref: 'refs/pull/11/head',
      commit: sha,
      environment: 'pr-11',
    });
    const [outbox] = await api.database.sql`select job from outbox where deployment_id = ${queued.id}`;
    expect(outbox?.job).toBe('build');
    const status = await get(`/apps/${app.name}/environments/pr-11/status`);
    expect(status).toMatchObject({ pullRequest: 11, fromFork: false, url: `https://${app.name}-pr-11.pier.test` });
  });

  it('a redelivery answers as the first time and writes nothing', async () => {
    const deliveryId = randomUUID();
    const first = await pull({ number: 12, action: 'opened', sha: fakeSha('pr-12') }, deliveryId);
    expect(first.statusCode, first.body).toBe(202);
    const counts = await rowCounts(api);
    const second = await pull({ number: 12, action: 'opened', sha: fakeSha('pr-12') }, deliveryId);
    expect({ status: second.statusCode, body: second.body }).toEqual({ status: first.statusCode, body: first.body });
    expect(await rowCounts(api)).toEqual(counts);
  });

  it('synchronize: reuses the preview, keeps its own variables, and the newer commit wins', async () => {
    const change = await api.request({
      method: 'PATCH',
      url: `/apps/${app.name}/environments/pr-11/variables`,
      payload: { set: { MODE: 'preview' } },
    });
    expect(change.statusCode, change.body).toBe(200);
    const before = (await get(`/apps/${app.name}/environments/pr-11`)).id;
    const sha = fakeSha('pr-11-b');
    const res = await pull({ number: 11, action: 'synchronize', sha });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().deployments).toEqual([{ id: expect.any(String), app: app.name, environment: 'pr-11' }]);
    expect((await get(`/apps/${app.name}/environments/pr-11`)).id).toBe(before);
    expect(await variables('pr-11')).toEqual({ API_KEY: STAGING_SECRET, MODE: 'preview' });
    const list = (await get(`/apps/${app.name}/environments/pr-11/deployments`)).deployments;
    expect(list.map((d: { state: string; commit: string }) => [d.state, d.commit])).toEqual([
      ['queued', sha],
      ['superseded', fakeSha('pr-11-a')],
    ]);
  });

  it('closed: the preview, its variables and deployments are gone; a second close finds nothing', async () => {
    const res = await pull({ number: 11, action: 'closed', sha: fakeSha('pr-11-b') });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ deployments: [], closedPreviews: [{ app: app.name, environment: 'pr-11' }] });
    expect(await environmentNames()).not.toContain('pr-11');
    const [left] = await api.database.sql`
      select (select count(*)::int from environments where pull_request = 11) as environments,
             (select count(*)::int from deployments where git_ref = 'refs/pull/11/head') as deployments`;
    expect(left).toEqual({ environments: 0, deployments: 0 });
    const again = await pull({ number: 11, action: 'closed', sha: fakeSha('pr-11-b') });
    expect(again.json()).toEqual({ deployments: [], ignored: expect.stringContaining('#11 has no preview to remove') });
  });

  it('closed by merging into main: the preview goes and staging deploys the merge commit', async () => {
    await pull({ number: 13, action: 'opened', sha: fakeSha('pr-13') });
    const mergeSha = fakeSha('pr-13-merge');
    const res = await pull({ number: 13, action: 'closed', sha: fakeSha('pr-13'), merged: true, mergeSha });
    expect(res.json()).toEqual({
      deployments: [{ id: expect.any(String), app: app.name, environment: 'staging' }],
      closedPreviews: [{ app: app.name, environment: 'pr-13' }],
    });
    expect(await get(`/deployments/${res.json().deployments[0].id}`)).toMatchObject({ ref: 'refs/heads/main', commit: mergeSha });
  });
});

describe('deliveries out of order (GitHub does not promise order)', () => {
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, seconds));

  it('a synchronize delivered after the close does not bring the preview back', async () => {
    await pull({ number: 51, action: 'opened', sha: fakeSha('pr-51-a'), updatedAt: at(0) });
    const closed = await pull({ number: 51, action: 'closed', sha: fakeSha('pr-51-b'), updatedAt: at(20) });
    expect(closed.json().closedPreviews).toEqual([{ app: app.name, environment: 'pr-51' }]);
    const before = await rowCounts(api);
    const late = await pull({ number: 51, action: 'synchronize', sha: fakeSha('pr-51-b'), updatedAt: at(10) });
    expect(late.statusCode, late.body).toBe(202);
    expect(late.json()).toEqual({
      deployments: [],
      ignored: expect.stringContaining('pull request #51: this delivery is older than a close of 2026-01-01T12:00:20.000Z'),
    });
    expect(await environmentNames()).not.toContain('pr-51');
    expect(await rowCounts(api)).toEqual({ ...before, deliveries: before.deliveries + 1 });
    // One of the closing second too: the close wins the tie.
    const tie = await pull({ number: 51, action: 'synchronize', sha: fakeSha('pr-51-c'), updatedAt: at(20) });
    expect(tie.json().deployments).toEqual([]);
    // A reopen of that same second wins it: a reopen can only follow a close (a bot closing and reopening).
    const quick = await pull({ number: 51, action: 'reopened', sha: fakeSha('pr-51-b'), updatedAt: at(20) });
    expect(quick.json().deployments).toEqual([{ id: expect.any(String), app: app.name, environment: 'pr-51' }]);
    await pull({ number: 51, action: 'closed', sha: fakeSha('pr-51-b'), updatedAt: at(25) });
    // A reopen is later than the close: the preview comes back.
    const reopened = await pull({ number: 51, action: 'reopened', sha: fakeSha('pr-51-b'), updatedAt: at(30) });
    expect(reopened.json().deployments).toEqual([{ id: expect.any(String), app: app.name, environment: 'pr-51' }]);
    await pull({ number: 51, action: 'closed', sha: fakeSha('pr-51-b'), updatedAt: at(40) });
  });

  it('an older head commit delivered late does not replace the newer one', async () => {
    const newer = await pull({ number: 52, action: 'synchronize', sha: fakeSha('pr-52-new'), updatedAt: at(10) });
    const [queued] = newer.json().deployments;
    const older = await pull({ number: 52, action: 'opened', sha: fakeSha('pr-52-old'), updatedAt: at(5) });
    expect(older.json()).toEqual({ deployments: [], ignored: expect.stringContaining('older than an update of') });
    expect(await get(`/deployments/${queued.id}`)).toMatchObject({ state: 'queued', commit: fakeSha('pr-52-new') });
    // A close delivered before the later update it follows is still applied when it is newer.
    const closed = await pull({ number: 52, action: 'closed', sha: fakeSha('pr-52-new'), updatedAt: at(15) });
    expect(closed.json().closedPreviews).toEqual([{ app: app.name, environment: 'pr-52' }]);
  });

  it('a delivery without updated_at cannot be ordered and applies', async () => {
    const payload = pullRequestPayload({ repository: REPO, number: 53, action: 'opened', sha: fakeSha('pr-53') });
    delete payload.pull_request.updated_at;
    const res = await sendWebhook(api.app, { event: 'pull_request', payload, secret: app.secret });
    expect(res.json().deployments).toEqual([{ id: expect.any(String), app: app.name, environment: 'pr-53' }]);
    await pull({ number: 53, action: 'closed', sha: fakeSha('pr-53') });
  });
});

describe('a pull request from a fork', () => {
  it('is not built, and no environment is made, while the app does not preview forks', async () => {
    const before = await rowCounts(api);
    const res = await pull({ number: 21, action: 'opened', sha: fakeSha('fork-21'), fork: true });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ deployments: [], ignored: expect.stringContaining('comes from a fork') });
    expect(await environmentNames()).not.toContain('pr-21');
    const after = await rowCounts(api);
    expect({ deployments: after.deployments, outbox: after.outbox }).toEqual({
      deployments: before.deployments,
      outbox: before.outbox,
    });
  });

  it('is built without any of the app’s variables once the app opts in', async () => {
    const patch = await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { forkPreviews: true } });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json()).toMatchObject({ previewsEnabled: true, forkPreviews: true });
    const res = await pull({ number: 21, action: 'synchronize', sha: fakeSha('fork-21-b'), fork: true });
    expect(res.json().deployments).toEqual([{ id: expect.any(String), app: app.name, environment: 'pr-21' }]);
    expect(await get(`/apps/${app.name}/environments/pr-21`)).toMatchObject({ pullRequest: 21, fromFork: true });
    expect(await variables('pr-21')).toEqual({});
    await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { forkPreviews: false } });
  });
});

describe('settings and names', () => {
  it('previews switched off: pull requests are ignored with the reason, closing still cleans up', async () => {
    await pull({ number: 31, action: 'opened', sha: fakeSha('pr-31') });
    await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { previewsEnabled: false } });
    const res = await pull({ number: 32, action: 'opened', sha: fakeSha('pr-32') });
    expect(res.json()).toEqual({ deployments: [], ignored: expect.stringContaining('previews are disabled for this app') });
    expect(await environmentNames()).not.toContain('pr-32');
    const closed = await pull({ number: 31, action: 'closed', sha: fakeSha('pr-31') });
    expect(closed.json().closedPreviews).toEqual([{ app: app.name, environment: 'pr-31' }]);
    await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { previewsEnabled: true } });
  });

  it('pr-<number> cannot be created by hand; other names starting with pr- can', async () => {
    const res = await api.request({ method: 'POST', url: `/apps/${app.name}/environments`, payload: { name: 'pr-40' } });
    expectError(res, 422, 'validation_failed', 'reserved for pull request previews');
    const ok = await api.request({ method: 'POST', url: `/apps/${app.name}/environments`, payload: { name: 'pr-review' } });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ pullRequest: null, fromFork: false });
  });

  it('settings are validated', async () => {
    const res = await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { forkPreviews: 'yes' } });
    expectError(res, 422, 'validation_failed', 'forkPreviews');
  });

  it('a preview database, its provision and its link commit with the delivery; a name still taken gets a suffix', async () => {
    await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { previewDatabase: true } });
    // Staging's own DATABASE_URL (say, an external database) is not copied: the preview's link injects its own.
    const stagingVars = `/apps/${app.name}/environments/staging/variables`;
    const set = await api.request({
      method: 'PATCH',
      url: stagingVars,
      payload: { set: { DATABASE_URL: 'postgres://u:p@staging-db/x' } },
    });
    expect(set.statusCode, set.body).toBe(200);
    try {
      const services = async () =>
        (await get('/services')).services.filter((s: { name: string }) => s.name.startsWith('pr-4')) as {
          id: string;
          name: string;
          state: string;
        }[];
      const opened = await pull({ number: 41, action: 'opened', sha: fakeSha('pr-41') });
      expect(opened.statusCode, opened.body).toBe(202);
      const [own] = await services();
      expect(own).toMatchObject({ name: `pr-41-${app.name}`, state: 'provisioning' });
      expect((await get(`/services/${own?.name}/operations`)).operations).toEqual([
        expect.objectContaining({ kind: 'provision', state: 'pending' }),
      ]);
      expect((await get(`/apps/${app.name}/environments/pr-41/links`)).links).toEqual([
        expect.objectContaining({ variable: 'DATABASE_URL', service: own?.name, state: 'provisioning' }),
      ]);
      expect(await variables('pr-41')).toEqual({ API_KEY: STAGING_SECRET, MODE: 'staging' });
      // A redelivery makes no second database.
      await pull({ number: 41, action: 'synchronize', sha: fakeSha('pr-41-b') });
      expect(await services()).toHaveLength(1);

      // pr-42-<app> is taken (say, an earlier preview's database still being deleted).
      const taken = await api.request({
        method: 'POST',
        url: '/services',
        payload: { type: 'postgres', name: `pr-42-${app.name}` },
      });
      expect(taken.statusCode, taken.body).toBe(202);
      const second = await pull({ number: 42, action: 'opened', sha: fakeSha('pr-42') });
      expect(second.statusCode, second.body).toBe(202);
      const [link] = (await get(`/apps/${app.name}/environments/pr-42/links`)).links;
      expect(link.service).toMatch(new RegExp(`^pr-42-${app.name}-[0-9a-f]{4}$`));

      const closed = await pull({ number: 41, action: 'closed', sha: fakeSha('pr-41-b') });
      expect(closed.json().closedPreviews).toEqual([{ app: app.name, environment: 'pr-41' }]);
      expect((await get(`/services/${own?.name}`)).state).toBe('deleting');
    } finally {
      await api.request({ method: 'PATCH', url: stagingVars, payload: { unset: ['DATABASE_URL'] } });
      await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { previewDatabase: false } });
    }
  });

  it('a preview database is linked with the URL parameters of staging’s DATABASE_URL link (sslmode=require)', async () => {
    const stagingDb = `sdb-${Date.now().toString(36)}`;
    const made = await api.request({ method: 'POST', url: '/services', payload: { type: 'postgres', name: stagingDb } });
    expect(made.statusCode, made.body).toBe(202);
    // No worker here: the service is made ready by hand, as the worker would.
    await api.database.sql`update managed_services set state = 'ready', ready_at = now() where name = ${stagingDb}`;
    const links = `/apps/${app.name}/environments/staging/links`;
    const linked = await api.request({
      method: 'POST',
      url: links,
      payload: { service: stagingDb, urlParams: { sslmode: 'require' } },
    });
    expect(linked.statusCode, linked.body).toBe(201);
    await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { previewDatabase: true } });
    try {
      const opened = await pull({ number: 71, action: 'opened', sha: fakeSha('pr-71') });
      expect(opened.statusCode, opened.body).toBe(202);
      expect((await get(`/apps/${app.name}/environments/pr-71/links`)).links).toEqual([
        expect.objectContaining({
          variable: 'DATABASE_URL',
          service: `pr-71-${app.name}`,
          urlParams: { sslmode: 'require' },
          variables: expect.arrayContaining(['DATABASE_URL', 'PGSSLMODE']),
        }),
      ]);
    } finally {
      await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { previewDatabase: false } });
      await api.request({ method: 'DELETE', url: `${links}/${stagingDb}` });
    }
  });

  it('a preview whose hostname another app already has is refused with the reason, and the delivery kept', async () => {
    const other = `${app.name}-pr-61`;
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name: other } })).statusCode).toBe(201);
    const res = await pull({ number: 61, action: 'opened', sha: fakeSha('pr-61') });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({
      deployments: [],
      ignored: expect.stringContaining(
        `${app.name}/pr-61 would use the hostname ${other}.<base domain>, which ${other}/production`,
      ),
    });
    expect(await environmentNames()).not.toContain('pr-61');
  });

  it('never logs a variable value', () => {
    expect(api.logs.join('\n')).not.toContain(STAGING_SECRET);
  });
});
