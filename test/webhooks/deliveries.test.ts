import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { examplePayload, pushPayload, sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, rowCounts, uniqueAppName } from './webhook-fixtures.ts';

/**
 * X-GitHub-Delivery: GitHub redelivers on timeouts and on request. A delivery
 * id seen before creates nothing and is answered as the first time.
 */

let api: TestApi;
let app: CreatedApp;
const REPO = 'acme-dup/site';

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('dup'), { fullName: REPO, cloneUrl: 'file:///srv/git/site.git' });
});
afterAll(async () => api?.close());

const send = (event: string, payload: unknown, deliveryId: string) =>
  sendWebhook(api.app, { event, payload, secret: app.secret, deliveryId });

/** The part of an answer a redelivery must repeat. */
const answer = (res: Awaited<ReturnType<typeof send>>) => ({
  status: res.statusCode,
  contentType: res.headers['content-type'],
  body: res.body,
});

async function deploymentsOf(deliveryId: string) {
  return api.database.sql`select id, state from deployments where delivery_id = ${deliveryId}`;
}

describe('a redelivery', () => {
  it('of a push answers exactly as the first time and queues nothing more', async () => {
    const deliveryId = randomUUID();
    const payload = pushPayload(REPO, 'refs/heads/main', fakeSha('dup-1'));
    const first = await send('push', payload, deliveryId);
    expect(first.statusCode, first.body).toBe(202);
    const counts = await rowCounts(api);

    const second = await send('push', payload, deliveryId);
    expect(answer(second)).toEqual(answer(first));
    expect(await rowCounts(api)).toEqual(counts);
    expect(await deploymentsOf(deliveryId)).toHaveLength(1);
    // Still queued: the redelivery did not supersede its own deployment.
    expect((await deploymentsOf(deliveryId))[0]?.state).toBe('queued');
  });

  it('of an ignored event answers as the first time did', async () => {
    const deliveryId = randomUUID();
    const payload = pushPayload(REPO, 'refs/heads/feature/x', fakeSha('dup-2'));
    const first = await send('push', payload, deliveryId);
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toEqual({ deployments: [], ignored: expect.stringContaining('feature/x') });
    const second = await send('push', payload, deliveryId);
    expect(answer(second)).toEqual(answer(first));
  });

  it('of a ping answers as the first time did', async () => {
    const deliveryId = randomUUID();
    const payload = examplePayload('pingRepository') as Record<string, any>;
    payload.repository.full_name = REPO;
    const first = await send('ping', payload, deliveryId);
    expect(first.statusCode, first.body).toBe(200);
    const second = await send('ping', payload, deliveryId);
    expect(answer(second)).toEqual(answer(first));
  });

  it('is recognised by its id alone: a later push under a used id queues nothing', async () => {
    const deliveryId = randomUUID();
    const first = await send('push', pushPayload(REPO, 'refs/heads/main', fakeSha('dup-3a')), deliveryId);
    expect(first.statusCode).toBe(202);
    const counts = await rowCounts(api);
    const second = await send('push', pushPayload(REPO, 'refs/heads/main', fakeSha('dup-3b')), deliveryId);
    expect(answer(second)).toEqual(answer(first));
    expect(await rowCounts(api)).toEqual(counts);
  });

  it('arriving five times at once creates one deployment and five identical answers', async () => {
    const deliveryId = randomUUID();
    const payload = pushPayload(REPO, 'refs/heads/main', fakeSha('dup-concurrent'));
    const before = await rowCounts(api);
    const answers = await Promise.all(Array.from({ length: 5 }, () => send('push', payload, deliveryId)));
    for (const res of answers) expect(res.statusCode, res.body).toBe(202);
    expect(new Set(answers.map((res) => JSON.stringify(answer(res)))).size).toBe(1);
    const rows = await deploymentsOf(deliveryId);
    expect(rows).toHaveLength(1);
    expect(answers[0]?.json().deployments).toEqual([{ id: rows[0]?.id, app: app.name, environment: 'staging' }]);
    const after = await rowCounts(api);
    expect(after.deliveries - before.deliveries).toBe(1);
    expect(after.deployments - before.deployments).toBe(1);
    expect(after.outbox - before.outbox).toBe(1);
  });

  it('of several distinct deliveries at once: each id is answered once, with its own deployment', async () => {
    const ids = Array.from({ length: 4 }, () => randomUUID());
    const sends = ids.flatMap((id, i) => {
      const payload = pushPayload(REPO, 'refs/heads/main', fakeSha(`dup-multi-${i}`));
      return [send('push', payload, id), send('push', payload, id), send('push', payload, id)];
    });
    const answers = await Promise.all(sends);
    for (const [i, id] of ids.entries()) {
      const mine = answers.slice(i * 3, i * 3 + 3);
      expect(new Set(mine.map((res) => JSON.stringify(answer(res)))).size).toBe(1);
      expect(await deploymentsOf(id)).toHaveLength(1);
    }
  });
});

describe('the delivery record', () => {
  it('stores the event, the app and the answer, not the payload', async () => {
    const deliveryId = randomUUID();
    const payload = pushPayload(REPO, 'refs/heads/main', fakeSha('dup-record'));
    const res = await send('push', payload, deliveryId);
    const [row] = await api.database.sql`select * from webhook_deliveries where delivery_id = ${deliveryId}`;
    const [appRow] = await api.database.sql`select id from apps where name = ${app.name}`;
    expect(row).toMatchObject({ event: 'push', app_id: appRow?.id, status_code: 202, response: res.json() });
    expect(JSON.stringify(row)).not.toContain(payload.head_commit.message);
  });

  it('refuses a malformed delivery id before anything is written', async () => {
    const before = await rowCounts(api);
    for (const deliveryId of ['', 'a b', `${'a'.repeat(101)}`, "x'; drop table deployments; --", '../etc']) {
      const res = await api.app.inject({
        method: 'POST',
        url: '/webhooks/github',
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': deliveryId },
        payload: pushPayload(REPO, 'refs/heads/main', fakeSha(deliveryId)),
      });
      expect(res.statusCode, deliveryId).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.json()).toEqual({ error: { code: expect.any(String), message: expect.stringContaining('x-github-delivery') } });
    }
    expect(await rowCounts(api)).toEqual(before);
  });
});
