import { createHmac, randomUUID } from 'node:crypto';
import { signPayload } from '@pier/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, rowCounts, sendRawWebhook, uniqueAppName } from './webhook-fixtures.ts';

/**
 * X-Hub-Signature-256 at the webhook edge: anything but an HMAC-SHA256 of the
 * exact bytes under the app's own secret is a 401 that writes nothing.
 */

let api: TestApi;
let alpha: CreatedApp;
let beta: CreatedApp;
const ALPHA_REPO = 'acme-sig/alpha';
const BETA_REPO = 'acme-sig/beta';

beforeAll(async () => {
  api = await createTestApi();
  alpha = await createApp(api, uniqueAppName('sig-alpha'), { fullName: ALPHA_REPO, cloneUrl: 'file:///srv/git/alpha.git' });
  beta = await createApp(api, uniqueAppName('sig-beta'), { fullName: BETA_REPO, cloneUrl: 'file:///srv/git/beta.git' });
});
afterAll(async () => api?.close());

const mainPush = (sha = fakeSha(Math.random())) => pushPayload(ALPHA_REPO, 'refs/heads/main', sha);

/** Sends a request that must be refused with 401 and checks that no table changed. */
async function expectRefused(send: () => ReturnType<typeof sendRawWebhook>, messagePart?: string) {
  const before = await snapshotState(api.database.sql);
  const res = await send();
  expectError(res, 401, 'unauthorized', messagePart);
  expect(await snapshotState(api.database.sql)).toEqual(before);
  return res;
}

describe('refused signatures', () => {
  it('refuses a delivery without X-Hub-Signature-256', async () => {
    const body = JSON.stringify(mainPush());
    await expectRefused(() => sendRawWebhook(api.app, { event: 'push', body }), 'x-hub-signature-256');
  });

  it('refuses an empty or malformed signature header', async () => {
    const body = JSON.stringify(mainPush());
    for (const signature of ['', 'sha256=', 'sha256=zz', `sha256=${'0'.repeat(64)}`, signPayload(body, alpha.secret).slice(7)]) {
      await expectRefused(() => sendRawWebhook(api.app, { event: 'push', body, signature }));
    }
  });

  it('refuses a delivery signed with SHA-1 only, however valid that HMAC is', async () => {
    const body = JSON.stringify(mainPush());
    const sha1 = `sha1=${createHmac('sha1', alpha.secret).update(body).digest('hex')}`;
    // The legacy header alone…
    await expectRefused(() =>
      api.app.inject({
        method: 'POST',
        url: '/webhooks/github',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature': sha1,
        },
        payload: body,
      }),
    );
    // …or a sha1 value in the SHA-256 header.
    await expectRefused(() => sendRawWebhook(api.app, { event: 'push', body, signature: sha1 }), 'sha256');
  });

  it('refuses a signature made with the wrong secret', async () => {
    const body = JSON.stringify(mainPush());
    await expectRefused(() => sendRawWebhook(api.app, { event: 'push', body, signature: signPayload(body, 'not-the-secret') }));
    await expectRefused(() =>
      sendRawWebhook(api.app, { event: 'push', body, signature: signPayload(body, alpha.secret.toUpperCase()) }),
    );
  });

  it('refuses a body changed by one byte after signing', async () => {
    const sha = fakeSha('tampered');
    const original = Buffer.from(JSON.stringify(mainPush(sha)));
    const signature = signPayload(original, alpha.secret);
    const tampered = Buffer.from(original);
    const at = tampered.indexOf(sha) + 39;
    tampered[at] = tampered[at] === 0x30 ? 0x31 : 0x30;
    expect(tampered.length).toBe(original.length);
    expect(tampered.equals(original)).toBe(false);
    await expectRefused(() => sendRawWebhook(api.app, { event: 'push', body: tampered, signature }));
    // Trailing whitespace is a change too.
    await expectRefused(() =>
      sendRawWebhook(api.app, { event: 'push', body: Buffer.concat([original, Buffer.from('\n')]), signature }),
    );
    // The untouched body passes, so the refusals above were about the bytes.
    const ok = await sendRawWebhook(api.app, { event: 'push', body: original, signature });
    expect(ok.statusCode, ok.body).toBe(202);
  });

  it("refuses a delivery for one repository signed with another app's secret", async () => {
    const forAlpha = JSON.stringify(mainPush());
    await expectRefused(() =>
      sendRawWebhook(api.app, { event: 'push', body: forAlpha, signature: signPayload(forAlpha, beta.secret) }),
    );
    const forBeta = JSON.stringify(pushPayload(BETA_REPO, 'refs/heads/main', fakeSha('beta')));
    await expectRefused(() =>
      sendRawWebhook(api.app, { event: 'push', body: forBeta, signature: signPayload(forBeta, alpha.secret) }),
    );
  });

  it('refuses a delivery for a repository no app is configured for, whatever secret signed it', async () => {
    const body = JSON.stringify(pushPayload('acme-sig/unknown', 'refs/heads/main', fakeSha('unknown')));
    await expectRefused(() => sendRawWebhook(api.app, { event: 'push', body, signature: signPayload(body, alpha.secret) }));
  });

  it('refuses a signed delivery before a redelivery could replay a stored answer', async () => {
    const deliveryId = randomUUID();
    const payload = mainPush();
    const first = await sendWebhook(api.app, { event: 'push', payload, secret: alpha.secret, deliveryId });
    expect(first.statusCode).toBe(202);
    // Same delivery id, wrong secret: 401, not the stored 202.
    await expectRefused(() => sendWebhook(api.app, { event: 'push', payload, secret: 'wrong', deliveryId }));
  });
});

describe('rotation', () => {
  it('makes the old secret fail and the new one work at once', async () => {
    const app = await createApp(api, uniqueAppName('sig-rot'), { fullName: 'acme-sig/rot', cloneUrl: 'file:///srv/git/rot.git' });
    const payload = () => pushPayload('acme-sig/rot', 'refs/heads/main', fakeSha(Math.random()));
    expect((await sendWebhook(api.app, { event: 'push', payload: payload(), secret: app.secret })).statusCode).toBe(202);

    const rotated = await api.request({ method: 'POST', url: `/apps/${app.name}/webhook-secret` });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const { webhookSecret } = rotated.json();
    expect(webhookSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(webhookSecret).not.toBe(app.secret);

    await expectRefused(() => sendWebhook(api.app, { event: 'push', payload: payload(), secret: app.secret }));
    const res = await sendWebhook(api.app, { event: 'push', payload: payload(), secret: webhookSecret });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().deployments).toHaveLength(1);
    // Rotating one app leaves the other apps' secrets alone.
    expect((await sendWebhook(api.app, { event: 'push', payload: mainPush(), secret: alpha.secret })).statusCode).toBe(202);
  });

  it('is for admins only, and for apps that exist', async () => {
    const token = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'alpha ci', app: alpha.name } })).json()
      .token;
    const before = await snapshotState(api.database.sql);
    expectError(await api.request({ method: 'POST', url: `/apps/${alpha.name}/webhook-secret`, token }), 403, 'forbidden');
    expectError(
      await api.request({ method: 'POST', url: `/apps/${alpha.name}/webhook-secret`, token: null }),
      401,
      'unauthorized',
    );
    expectError(await api.request({ method: 'POST', url: '/apps/no-such-app/webhook-secret' }), 404, 'not_found');
    expect((await snapshotState(api.database.sql)).apps).toEqual(before.apps);
    // alpha's secret still works.
    expect((await sendWebhook(api.app, { event: 'push', payload: mainPush(), secret: alpha.secret })).statusCode).toBe(202);
  });
});

describe('the secret is shown once', () => {
  it('is in the POST /apps answer only: not in GET, the logs or the database in plaintext', async () => {
    const app = await createApp(api, uniqueAppName('sig-once'), {
      fullName: 'acme-sig/once',
      cloneUrl: 'file:///srv/git/once.git',
    });
    expect(app.secret).toMatch(/^[0-9a-f]{64}$/);
    const rotated = (await api.request({ method: 'POST', url: `/apps/${app.name}/webhook-secret` })).json().webhookSecret;
    // Use both secrets so that every code path that handles them has run.
    await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload('acme-sig/once', 'refs/heads/main', fakeSha(1)),
      secret: app.secret,
    });
    await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload('acme-sig/once', 'refs/heads/main', fakeSha(2)),
      secret: rotated,
    });

    const shown = await Promise.all([
      api.request({ method: 'GET', url: `/apps/${app.name}` }),
      api.request({ method: 'GET', url: '/apps' }),
      api.request({ method: 'GET', url: `/apps/${app.name}/environments` }),
      api.request({ method: 'GET', url: `/apps/${app.name}/deployments` }),
    ]);
    for (const res of shown) {
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toMatch(/webhookSecret/i);
    }
    const rows = await api.database.sql`select * from apps where name = ${app.name}`;
    const stored = JSON.stringify(await snapshotState(api.database.sql));
    const logs = api.logs.join('');
    for (const secret of [app.secret, rotated, alpha.secret, beta.secret]) {
      for (const res of shown) expect(res.body).not.toContain(secret);
      expect(JSON.stringify(rows)).not.toContain(secret);
      expect(stored).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    // The row does hold a sealed secret.
    expect(rows[0]?.webhook_secret_ciphertext).toEqual(expect.any(String));
  });

  it('GET /apps/:app shows the same fields as the POST answer, minus the secret', async () => {
    const res = await api.request({ method: 'GET', url: `/apps/${alpha.name}` });
    const created = { ...alpha.body };
    delete created.webhookSecret;
    expect(Object.keys(res.json()).sort()).toEqual(Object.keys(created).sort());
  });
});

describe('the counts', () => {
  it('hold only the accepted deliveries', async () => {
    // Every delivery above that got a 202 wrote one delivery row; every 401 wrote nothing.
    const counts = await rowCounts(api);
    const [{ accepted } = { accepted: -1 }] = await api.database.sql<{ accepted: number }[]>`
      select count(*)::int as accepted from webhook_deliveries where status_code = 202`;
    expect(counts.deliveries).toBe(accepted);
    expect(counts.deployments).toBe(counts.outbox);
  });
});
