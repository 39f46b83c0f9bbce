import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

/**
 * Notification channels through the real API on a real Postgres: what is
 * refused (with the field named, nothing stored), what an app token may do,
 * host channels for admins only, sealed settings and a signing secret shown
 * once.
 */

let api: TestApi;
let appToken: string;

beforeAll(async () => {
  api = await createTestApi();
  for (const name of ['shop', 'other']) {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  }
  appToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci', app: 'shop' } })).json().token;
}, 60_000);
afterAll(async () => api?.close());

const channelCount = async () => Number((await api.database.sql`select count(*)::int as n from notification_channels`)[0]?.n);
const create = (payload: object, token?: string, url = '/apps/shop/notifications') =>
  api.request({ method: 'POST', url, payload, ...(token ? { token } : {}) });

describe('notification channels through the API', () => {
  it.each([
    ['plain http to another host', { kind: 'slack', url: 'http://hooks.example.com/x' }, undefined, 'body.url: http:'],
    ['the metadata address', { kind: 'webhook', url: 'https://169.254.169.254/latest' }, undefined, 'body.url: host'],
    ['the metadata address spelled as one number', { kind: 'webhook', url: 'https://2852039166/' }, undefined, 'body.url'],
    ['a metadata name', { kind: 'slack', url: 'https://metadata.google.internal/x' }, undefined, 'body.url'],
    ['loopback for an app token', { kind: 'webhook', url: 'http://127.0.0.1:8080/x' }, 'app', 'only an admin token'],
    ["Pier's own Postgres port", { kind: 'webhook', url: 'http://127.0.0.1:5432/x' }, undefined, "one of Pier's own services"],
    ['a scheme it does not take', { kind: 'slack', url: 'ftp://hooks.example.com/x' }, undefined, 'body.url: scheme ftp:'],
    [
      'an unknown event kind',
      { kind: 'slack', url: 'https://hooks.example.com/x', events: ['crash.nope'] },
      undefined,
      'body.events',
    ],
    [
      'clear-text SMTP to another host',
      { kind: 'email', host: 'smtp.example.com', port: 25, tls: 'none', from: 'a@example.com', to: ['b@example.com'] },
      undefined,
      'body.tls',
    ],
    [
      'an SMTP server on the link-local range',
      { kind: 'email', host: '169.254.0.9', port: 587, tls: 'starttls', from: 'a@example.com', to: ['b@example.com'] },
      undefined,
      'body.host',
    ],
    [
      'a recipient with a header in it',
      {
        kind: 'email',
        host: 'smtp.example.com',
        port: 587,
        tls: 'starttls',
        from: 'a@example.com',
        to: ['b@example.com\r\nBcc: x@y'],
      },
      undefined,
      'body.to',
    ],
  ])('refuses %s, naming the field, and stores nothing', async (_, payload, who, message) => {
    const res = await create({ name: 'bad', ...payload }, who === 'app' ? appToken : undefined);
    expectError(res, 422, 'validation_failed', message);
    expect(await channelCount()).toBe(0);
  });

  it('makes a webhook channel with a generated secret shown once, and lists it without settings', async () => {
    const made = await create({ name: 'hook', kind: 'webhook', url: 'https://hooks.example.com/pier?key=abc' }, appToken);
    expect(made.statusCode, made.body).toBe(201);
    const secret = made.json().secret as string;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(made.json()).toMatchObject({
      name: 'hook',
      kind: 'webhook',
      target: 'https://hooks.example.com:443',
      apps: ['shop'],
      events: [],
    });

    const listed = await api.request({ method: 'GET', url: '/apps/shop/notifications', token: appToken });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().channels).toEqual([expect.objectContaining({ name: 'hook', target: 'https://hooks.example.com:443' })]);
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toContain('key=abc');
    const [row] = await api.database.sql<{ config_ciphertext: string }[]>`select config_ciphertext from notification_channels`;
    expect(row?.config_ciphertext).not.toContain(secret);
    expect(Buffer.from(row?.config_ciphertext ?? '', 'base64').toString('latin1')).not.toContain('hooks.example.com');

    expectError(await create({ name: 'hook', kind: 'slack', url: 'https://hooks.example.com/y' }), 409, 'conflict', 'name:');
    // Another app is not there for this token.
    expectError(await api.request({ method: 'GET', url: '/apps/other/notifications', token: appToken }), 404, 'not_found');
  });

  it('queues a test message and lists deliveries', async () => {
    const queued = await api.request({ method: 'POST', url: '/apps/shop/notifications/hook/test', token: appToken });
    expect(queued.statusCode, queued.body).toBe(202);
    const listed = await api.request({ method: 'GET', url: '/apps/shop/notifications/hook/deliveries', token: appToken });
    expect(listed.json().deliveries).toEqual([
      expect.objectContaining({ id: queued.json().deliveryId, kind: 'test', state: 'pending', attempts: 0, lastError: null }),
    ]);
    expectError(await api.request({ method: 'POST', url: '/apps/shop/notifications/nope/test' }), 404, 'not_found');
    // One test at a time per channel: another while the first is pending is refused.
    expectError(
      await api.request({ method: 'POST', url: '/apps/shop/notifications/hook/test', token: appToken }),
      409,
      'conflict',
      'name: a test message to this channel is still being sent',
    );
    await api.database.sql`update notification_deliveries set state = 'sent' where id = ${queued.json().deliveryId}`;
    const again = await api.request({ method: 'POST', url: '/apps/shop/notifications/hook/test', token: appToken });
    expect(again.statusCode, again.body).toBe(202);
    await api.database.sql`update notification_deliveries set state = 'sent' where id = ${again.json().deliveryId}`;
  });

  it('keeps host channels for admins, hearing the apps they name or every app', async () => {
    const payload = { name: 'ops', kind: 'slack', url: 'https://hooks.example.com/ops', events: ['host.disk', 'crash.loop'] };
    expectError(await create(payload, appToken, '/notifications'), 403, 'forbidden');
    expectError(await create({ ...payload, apps: ['nope'] }, undefined, '/notifications'), 422, 'validation_failed', 'body.apps');
    expectError(
      await create({ name: 'x', kind: 'slack', url: 'https://h.example.com/', apps: ['shop'] }),
      422,
      'validation_failed',
      'body',
    );
    const named = await create({ ...payload, apps: ['shop'] }, undefined, '/notifications');
    expect(named.statusCode, named.body).toBe(201);
    expect(named.json()).toMatchObject({ apps: ['shop'], events: ['crash.loop', 'host.disk'] });
    expect(named.json().secret).toBeUndefined();
    const every = await create({ ...payload, name: 'all', apps: ['*'] }, undefined, '/notifications');
    expect(every.json()).toMatchObject({ apps: ['*'] });
    const listed = await api.request({ method: 'GET', url: '/notifications' });
    expect(listed.json().channels.map((c: { name: string }) => c.name)).toEqual(['all', 'ops']);
    expectError(await api.request({ method: 'GET', url: '/notifications', token: appToken }), 403, 'forbidden');
    // Loopback targets for an admin: allowed (an operator's local relay), never Pier's own ports.
    const local = await create(
      { name: 'local', kind: 'webhook', url: 'http://127.0.0.1:8080/hook' },
      undefined,
      '/notifications',
    );
    expect(local.statusCode, local.body).toBe(201);
    expect((await api.request({ method: 'DELETE', url: '/notifications/local' })).statusCode).toBe(204);
    expectError(await api.request({ method: 'DELETE', url: '/notifications/local' }), 404, 'not_found');
  });

  it('refuses an app more than 10 channels, naming the field', async () => {
    for (let i = 1; i <= 10; i += 1) {
      const made = await create(
        { name: `c${i}`, kind: 'slack', url: `https://hooks.example.com/${i}` },
        undefined,
        '/apps/other/notifications',
      );
      expect(made.statusCode, made.body).toBe(201);
    }
    const before = await channelCount();
    expectError(
      await create({ name: 'c11', kind: 'slack', url: 'https://hooks.example.com/11' }, undefined, '/apps/other/notifications'),
      409,
      'conflict',
      'name: an app has at most 10 notification channels',
    );
    expect(await channelCount()).toBe(before);
  });

  it('deletes an app channel', async () => {
    expect((await api.request({ method: 'DELETE', url: '/apps/shop/notifications/hook', token: appToken })).statusCode).toBe(204);
    const listed = await api.request({ method: 'GET', url: '/apps/shop/notifications', token: appToken });
    expect(listed.json().channels).toEqual([]);
  });
});
