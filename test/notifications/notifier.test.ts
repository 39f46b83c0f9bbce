import { createHmac } from 'node:crypto';
import { createStores, EVENTS_CHANNEL, listenTo, type Stores } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier } from '../../apps/worker/src/notifications/notifier.ts';
import { makeTlsFixture, type TlsFixture } from '../drains/tls-fixture.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { freePort, type PostReceiver, postReceiver, type SmtpReceiver, smtpReceiver, waitFor } from './receivers.ts';

/**
 * The notifier against real Postgres, the real API (channels are made through
 * it) and real receivers on loopback: an HTTPS webhook receiver that checks
 * the HMAC signature, a Slack-compatible receiver, and an SMTP server with
 * STARTTLS and a password. Events are recorded through the EventStore as
 * their sources record them; the throttle window is short.
 */

const WINDOW_MS = 1500;
const GIVE_UP_MS = 4000;
const SECRET = 'whsec-0123456789abcdef-signing';
const SMTP_USER = 'pier-mailer';
const SMTP_PASSWORD = 'smtpPassw0rd-never-shown';
const SECRET_PATH = '/hooks/T0KEN-in-the-path-9f8e7d';

let api: TestApi;
let stores: Stores;
let tls: TlsFixture;
let notifier: Notifier;
let webhook: PostReceiver;
let slack: PostReceiver;
let smtp: SmtpReceiver;
const appIds: Record<string, string> = {};

beforeAll(async () => {
  tls = await makeTlsFixture();
  api = await createTestApi();
  stores = createStores(api.database.db, api.box);
  for (const name of ['shop', 'late', 'gone']) {
    const made = await api.request({ method: 'POST', url: '/apps', payload: { name } });
    expect(made.statusCode, made.body).toBe(201);
    appIds[name] = made.json().id;
  }
  webhook = postReceiver({ port: await freePort(), tls, secret: SECRET });
  slack = postReceiver({ port: await freePort() });
  smtp = await smtpReceiver(tls, SMTP_USER, SMTP_PASSWORD);
  await Promise.all([webhook.start(), slack.start()]);
  await createChannel('shop', { name: 'hook', kind: 'webhook', url: `https://localhost:${webhook.port}/pier`, secret: SECRET });
  await createChannel('shop', { name: 'chat', kind: 'slack', url: `http://127.0.0.1:${slack.port}${SECRET_PATH}` });
  await createChannel('shop', {
    name: 'mail',
    kind: 'email',
    host: 'localhost',
    port: smtp.port,
    tls: 'starttls',
    user: SMTP_USER,
    password: SMTP_PASSWORD,
    from: 'pier@example.com',
    to: ['ops@example.com', 'dev@example.com'],
  });
  notifier = new Notifier({
    queue: stores.notificationQueue,
    logger: createLogger({ name: 'notifier-test', level: 'warn', format: 'json' }),
    wakeOn: listenTo(api.database.sql, EVENTS_CHANNEL),
    pollIntervalMs: 200,
    throttleWindowMs: WINDOW_MS,
    retry: { baseMs: 200, capMs: 800, giveUpMs: GIVE_UP_MS },
    reservedPorts: [4000, 5432, 6379],
    sendTimeoutMs: 3000,
    extraCa: [tls.ca],
  });
  notifier.start();
}, 60_000);

afterAll(async () => {
  await notifier?.stop();
  await Promise.all([webhook?.stop(), slack?.stop(), smtp?.close()]);
  await api?.close();
  await tls?.remove();
});

async function createChannel(app: string, payload: Record<string, unknown>) {
  const res = await api.request({ method: 'POST', url: `/apps/${app}/notifications`, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function deliveryRows(app: string, channel: string) {
  return api.database.sql<{ state: string; event_id: number | null; attempts: number; last_error: string | null }[]>`
    select d.state, d.event_id, d.attempts, d.last_error from notification_deliveries d
    join notification_channels c on c.id = d.channel_id join apps a on a.id = c.app_id
    where a.name = ${app} and c.name = ${channel} order by d.id`;
}

describe('the notifier', () => {
  it('sends a crash loop once per channel and then one summary, not one message per restart', async () => {
    const restarts = 6;
    for (let i = 1; i <= restarts; i++) {
      await stores.events.record({
        kind: 'crash.loop',
        message: `web crashed ${i} times in a row (exit 1)`,
        appId: appIds.shop,
        envName: 'production',
        data: { restarts: i },
      });
    }
    await waitFor('the first message and a summary on each channel', () =>
      [webhook.received.length, slack.received.length, smtp.mails.length].every((n) => n >= 2),
    );
    // One more pass after the summaries: nothing further is sent.
    notifier.kick();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([webhook.received.length, slack.received.length, smtp.mails.length]).toEqual([2, 2, 2]);

    const [first, summary] = webhook.received;
    expect(first?.signatureValid).toBe(true);
    expect(summary?.signatureValid).toBe(true);
    expect(first?.headers['x-pier-event']).toBe('crash.loop');
    expect(first?.headers['x-pier-signature-256']).toBe(
      `sha256=${createHmac('sha256', SECRET)
        .update(first?.raw ?? '')
        .digest('hex')}`,
    );
    expect(first?.body).toMatchObject({
      kind: 'crash.loop',
      severity: 'critical',
      app: 'shop',
      env: 'production',
      message: 'web crashed 1 times in a row (exit 1)',
      data: { restarts: 1 },
    });
    expect(summary?.body).toMatchObject({
      kind: 'summary',
      app: 'shop',
      env: 'production',
      data: { eventKind: 'crash.loop', count: restarts - 1 },
    });
    expect(summary?.body.message).toMatch(/^crash\.loop happened 5 more times between /);

    expect(slack.received[0]?.body.text).toContain('*shop/production* `crash.loop`');
    expect(slack.received[1]?.body.text).toContain('crash.loop happened 5 more times');

    const [mail, mailSummary] = smtp.mails;
    expect(mail).toMatchObject({ user: SMTP_USER, secure: true, to: ['ops@example.com', 'dev@example.com'] });
    expect(mail?.raw).toMatch(/Subject: \[Pier\] shop\/production: web crashed 1 times in a row/);
    expect(mailSummary?.raw).toContain('Held back: 5');

    for (const channel of ['hook', 'chat', 'mail']) {
      const rows = await deliveryRows('shop', channel);
      expect(rows.map((r) => r.state)).toEqual(['sent', ...Array(restarts - 1).fill('suppressed'), 'sent']);
      expect(rows.at(-1)?.event_id).toBeNull();
    }
  });

  it('sends another kind at once, and the same kind again once the window ended', async () => {
    const before = webhook.received.length;
    await stores.events.record({ kind: 'deploy.failed', message: 'build failed', appId: appIds.shop, envName: 'production' });
    await waitFor('the deploy.failed message', () => webhook.received.length === before + 1);
    await stores.events.record({ kind: 'crash.loop', message: 'crashing again', appId: appIds.shop, envName: 'production' });
    await waitFor('the next crash loop after the window', () => webhook.received.length === before + 2);
    expect(webhook.received.slice(before).map((r) => r.body.kind)).toEqual(['deploy.failed', 'crash.loop']);
  });

  it('retries a receiver that is down until it is up again, keeping the last error without the secret', async () => {
    const port = await freePort();
    const late = postReceiver({ port, tls, secret: SECRET });
    await createChannel('late', {
      name: 'hook',
      kind: 'webhook',
      url: `https://localhost:${port}${SECRET_PATH}`,
      secret: SECRET,
    });
    await stores.events.record({
      kind: 'backup.failed',
      message: 'backup of db failed',
      appId: appIds.late,
      envName: 'production',
    });
    await waitFor('two failed attempts', async () => ((await deliveryRows('late', 'hook'))[0]?.attempts ?? 0) >= 2);
    const failing = (await deliveryRows('late', 'hook'))[0];
    expect(failing?.state).toBe('pending');
    expect(failing?.last_error).toMatch(/ECONNREFUSED/);
    await late.start();
    try {
      await waitFor('the delivery after the receiver came back', () => late.received.length === 1);
      expect(late.received[0]?.body).toMatchObject({ kind: 'backup.failed', app: 'late' });
      expect(late.received[0]?.signatureValid).toBe(true);
      await waitFor('the row marked sent', async () => (await deliveryRows('late', 'hook'))[0]?.state === 'sent');
    } finally {
      await late.stop();
    }
  });

  it('gives a delivery up as dead once it is past the give-up age, its error scrubbed of the URL', async () => {
    const port = await freePort();
    // Answers 500 with the path it was sent to: the secret path must not end up in the kept error.
    const refusing = postReceiver({ port, answer: (post) => ({ status: 500, body: `no route for ${post.path}` }) });
    await refusing.start();
    try {
      await createChannel('gone', { name: 'chat', kind: 'slack', url: `http://127.0.0.1:${port}${SECRET_PATH}` });
      await stores.events.record({
        kind: 'cron.failed',
        message: 'cron nightly failed',
        appId: appIds.gone,
        envName: 'production',
      });
      await waitFor(
        'a dead delivery',
        async () => (await deliveryRows('gone', 'chat'))[0]?.state === 'dead',
        GIVE_UP_MS + 10_000,
      );
      const dead = (await deliveryRows('gone', 'chat'))[0];
      expect(dead?.attempts).toBeGreaterThan(1);
      expect(dead?.last_error).toMatch(/^the receiver answered HTTP 500: no route for \*\*\*/);
      expect(dead?.last_error).not.toContain('T0KEN');
      const listed = await api.request({ method: 'GET', url: '/apps/gone/notifications/chat/deliveries' });
      expect(listed.json().deliveries[0]).toMatchObject({ state: 'dead', kind: 'cron.failed', nextAttemptAt: null });
      expect(listed.body).not.toContain('T0KEN');
    } finally {
      await refusing.stop();
    }
  });

  it('keeps channel settings sealed: no URL, secret or password in the rows', async () => {
    const rows = await api.database.sql<{ config_ciphertext: string; target: string }[]>`
      select config_ciphertext, target from notification_channels`;
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const stored = JSON.stringify(rows);
    for (const secret of [SECRET, SMTP_PASSWORD, 'T0KEN', Buffer.from(SECRET).toString('base64')]) {
      expect(stored).not.toContain(secret);
    }
  });
});
