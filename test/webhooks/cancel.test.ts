import { randomUUID } from 'node:crypto';
import { createStores, type DeploymentStore } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, uniqueAppName } from './webhook-fixtures.ts';

/**
 * POST /deployments/:id/cancel without a worker: a queued deployment is
 * cancelled at once; a building one gets a cancel request (the worker acts on
 * it, see cancel-build.test.ts); a finished one is a conflict.
 */

let api: TestApi;
let app: CreatedApp;
let store: DeploymentStore;
const REPO = 'acme-cancel/site';

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('cancel'), { fullName: REPO, cloneUrl: 'file:///srv/git/cancel.git' });
  store = createStores(api.database.db, api.box).deployments;
});
afterAll(async () => api?.close());

async function queue(env = 'staging'): Promise<string> {
  const res = await api.request({
    method: 'POST',
    url: `/apps/${app.name}/environments/${env}/deployments`,
    payload: { commit: fakeSha(randomUUID()) },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id;
}

const cancel = (id: string, token?: string) =>
  api.request({ method: 'POST', url: `/deployments/${id}/cancel`, ...(token ? { token } : {}) });
const show = async (id: string) => (await api.request({ method: 'GET', url: `/deployments/${id}` })).json();

describe('cancelling', () => {
  it('a queued deployment cancels it at once', async () => {
    const id = await queue();
    const res = await cancel(id);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ id, state: 'cancelled', reason: 'cancelled on request', finishedAt: expect.any(String) });
    const shown = await show(id);
    expect(shown.state).toBe('cancelled');
    expect(shown.events.map((e: { from: string | null; to: string }) => [e.from, e.to])).toEqual([
      [null, 'queued'],
      ['queued', 'cancelled'],
    ]);
    // Its outbox record stays: the worker's job finds it cancelled and skips it.
    const [outbox] = await api.database.sql`select job from outbox where deployment_id = ${id}`;
    expect(outbox).toEqual({ job: 'build' });
  });

  it('a queued deployment from a webhook works the same', async () => {
    const res = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload(REPO, 'refs/heads/main', fakeSha('hook')),
      secret: app.secret,
    });
    const id = res.json().deployments[0].id;
    expect((await cancel(id)).json().state).toBe('cancelled');
  });

  it('a finished deployment is a 409 conflict and changes nothing', async () => {
    const cancelled = await queue();
    await cancel(cancelled);
    const superseded = await queue();
    await queue();
    expect((await show(superseded)).state).toBe('superseded');
    const failed = await queue('production');
    await store.transition(failed, ['queued'], 'building');
    await store.transition(failed, ['building'], 'failed', { reason: 'build failed: exit 1', finishedAt: new Date() });
    const built = await queue('production');
    await store.transition(built, ['queued'], 'building');
    await store.transition(built, ['building'], 'deploying', { imageId: `sha256:${'a'.repeat(64)}` });

    for (const [id, state] of [
      [cancelled, 'cancelled'],
      [superseded, 'superseded'],
      [failed, 'failed'],
      [built, 'deploying'],
    ] as const) {
      const before = await show(id);
      expectError(await cancel(id), 409, 'conflict', state);
      expect(await show(id)).toEqual(before);
    }
  });

  it('a building deployment records a cancel request for the worker', async () => {
    const id = await queue();
    await store.claimBuild(id);
    const res = await cancel(id);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ id, state: 'building', cancelRequested: true });
    expect(await store.isCancelRequested(id)).toBe(true);
    // Asking twice is fine.
    expect((await cancel(id)).statusCode).toBe(202);
    // Once the worker has stopped the build, it is over.
    await store.transition(id, ['building'], 'cancelled', { reason: 'cancelled on request', finishedAt: new Date() });
    expectError(await cancel(id), 409, 'conflict');
  });

  it('a queued deployment with a cancel request is never claimed', async () => {
    const id = await queue();
    // As when a cancel races a claim: the request is recorded while the deployment is still queued.
    await api.database.sql`update deployments set cancel_requested_at = now() where id = ${id}`;
    expect(await store.claimBuild(id)).toBe('skip');
    expect((await show(id)).state).toBe('cancelled');
  });

  it('answers 404 for an unknown id, a malformed id, and to a token of another app', async () => {
    expectError(await cancel(randomUUID()), 404, 'not_found');
    expectError(await cancel('not-a-uuid'), 404, 'not_found');
    expectError(await cancel("1' or '1'='1"), 404, 'not_found');
    const other = await createApp(api, uniqueAppName('cancel-other'));
    const token = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'other', app: other.name } })).json()
      .token;
    const id = await queue();
    expectError(await cancel(id, token), 404, 'not_found');
    expect((await show(id)).state).toBe('queued');
    const mine = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'mine', app: app.name } })).json().token;
    expect((await cancel(id, mine)).json().state).toBe('cancelled');
  });
});
