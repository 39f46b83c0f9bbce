import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

let api: TestApi;
let appToken: string;
const PASSWORD = 'drainPassword0123456789';
const HEADER_TOKEN = 'Bearer ingestKey0123456789';

beforeAll(async () => {
  api = await createTestApi();
  for (const name of ['shop', 'other']) {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  }
  appToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci', app: 'shop' } })).json().token;
});
afterAll(async () => api.close());

const create = (payload: object, token?: string, app = 'shop') =>
  api.request({ method: 'POST', url: `/apps/${app}/drains`, payload, ...(token ? { token } : {}) });
const drainCount = async () => Number((await api.database.sql`select count(*)::int as n from log_drains`)[0]?.n);

describe('log drains through the API', () => {
  it('are created with the URL and headers sealed, shown as scheme://host:port with their state, and deleted', async () => {
    const made = await create(
      { name: 'archive', url: `https://ci:${PASSWORD}@logs.example.com/ingest?key=x`, headers: { Authorization: HEADER_TOKEN } },
      appToken,
    );
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json()).toMatchObject({
      name: 'archive',
      kind: 'https',
      target: 'https://logs.example.com:443',
      delivered: 0,
      dropped: 0,
      lagLines: 0,
      failingSince: null,
      lastError: null,
    });
    const syslog = await create({ name: 'papertrail', url: 'syslog+tls://logs.example.com:6514' }, appToken);
    expect(syslog.statusCode, syslog.body).toBe(201);
    expect(syslog.json()).toMatchObject({ kind: 'syslog', target: 'syslog+tls://logs.example.com:6514' });

    const listed = await api.request({ method: 'GET', url: '/apps/shop/drains', token: appToken });
    expect(listed.json().drains.map((d: { name: string }) => d.name)).toEqual(['archive', 'papertrail']);
    const [row] = await api.database.sql`select config_ciphertext as c, target from log_drains where name = 'archive'`;
    for (const text of [listed.body, made.body, String(row?.c), api.logs.join('')]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('ingestKey0123456789');
      expect(text).not.toContain('/ingest');
    }

    expectError(await create({ name: 'archive', url: 'https://other.example.com/' }, appToken), 409, 'conflict');
    expect((await api.request({ method: 'DELETE', url: '/apps/shop/drains/archive', token: appToken })).statusCode).toBe(204);
    expectError(await api.request({ method: 'DELETE', url: '/apps/shop/drains/archive', token: appToken }), 404, 'not_found');
    expect((await api.request({ method: 'GET', url: '/apps/shop/drains' })).json().drains).toHaveLength(1);
  });

  it('are at most 5 per app: a sixth is refused naming the count, and one deleted makes room', async () => {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'many' } })).statusCode).toBe(201);
    for (let i = 1; i <= 5; i += 1) {
      expect((await create({ name: `d${i}`, url: 'https://logs.example.com/' }, undefined, 'many')).statusCode).toBe(201);
    }
    expectError(
      await create({ name: 'd6', url: 'https://logs.example.com/' }, undefined, 'many'),
      409,
      'conflict',
      'name: the app has 5 drains',
    );
    expect((await api.request({ method: 'DELETE', url: '/apps/many/drains/d1' })).statusCode).toBe(204);
    expect((await create({ name: 'd6', url: 'https://logs.example.com/' }, undefined, 'many')).statusCode).toBe(201);
  });

  it('are the app token’s own app’s only', async () => {
    expectError(await create({ name: 'x', url: 'https://logs.example.com/' }, appToken, 'other'), 404, 'not_found');
    expectError(await api.request({ method: 'GET', url: '/apps/other/drains', token: appToken }), 404, 'not_found');
  });

  it('let an admin point one at loopback, in clear text only there, never at Pier’s own ports', async () => {
    const made = await create({ name: 'local', url: 'syslog://127.0.0.1:5514' });
    expect(made.statusCode, made.body).toBe(201);
    const http = await create({ name: 'local-http', url: 'http://127.0.0.1:8080/in' });
    expect(http.statusCode, http.body).toBe(201);
    expect(http.json()).toMatchObject({ kind: 'https', target: 'http://127.0.0.1:8080' });
    expectError(await create({ name: 'pg', url: 'syslog://127.0.0.1:5432' }), 422, 'validation_failed', 'body.url');
    expectError(await create({ name: 'redis', url: 'https://localhost:6379/' }), 422, 'validation_failed', 'body.url');
    expectError(await create({ name: 'api', url: 'https://127.0.0.1:4000/' }), 422, 'validation_failed', 'body.url');
  });

  it.each([
    [{ name: 'a', url: 'ftp://logs.example.com/' }, 'body.url', /scheme ftp: is not allowed/],
    [{ name: 'a', url: 'http://logs.example.com/' }, 'body.url', /clear text/],
    [{ name: 'a', url: 'http://127.0.0.1:8080/' }, 'body.url', /this machine; only an admin token/],
    [{ name: 'a', url: 'syslog://logs.example.com:514' }, 'body.url', /clear text/],
    [{ name: 'a', url: 'syslog://127.0.0.1:5514' }, 'body.url', /this machine; only an admin token/],
    [{ name: 'a', url: 'https://10.0.0.8/' }, 'body.url', /private network/],
    [{ name: 'a', url: 'https://169.254.169.254/latest/' }, 'body.url', /link-local/],
    [{ name: 'a', url: 'syslog+tls://0xa9fea9fe:6514' }, 'body.url', /link-local/],
    [{ name: 'a', url: 'https://[fe80::1]/' }, 'body.url', /link-local/],
    [{ name: 'a', url: 'https://[::ffff:7f00:1]/' }, 'body.url', /IPv4-mapped/],
    [{ name: 'a', url: 'https://metadata.google.internal/' }, 'body.url', /metadata/],
    [{ name: 'a', url: `syslog+tls://u:${PASSWORD}@logs.example.com:6514` }, 'body.url', /no credentials/],
    [{ name: 'a', url: 'syslog+tls://logs.example.com' }, 'body.url', /must name a port/],
    [{ name: 'a', url: 'not a url' }, 'body.url', /absolute URL/],
    [{ name: 'a', url: 'syslog+tls://logs.example.com:6514', headers: { X: 'y' } }, 'body.headers', /only an https drain/],
    [{ name: 'a', url: 'https://logs.example.com/', headers: { 'Bad Header': 'y' } }, 'body.headers', /header name/],
    [{ name: 'a', url: 'https://logs.example.com/', headers: { X: 'a\r\nInjected: 1' } }, 'body.headers', /line breaks/],
    [{ name: 'a', url: 'https://logs.example.com/', ca: 'not a certificate' }, 'body.ca', /PEM/],
    [{ name: 'Bad Name', url: 'https://logs.example.com/' }, 'body.name', /./],
  ])('refuse %j from an app token, naming %s, storing nothing', async (payload, field, message) => {
    const before = await drainCount();
    const text = expectError(await create(payload, appToken), 422, 'validation_failed', field);
    expect(text).toMatch(message);
    expect(text).not.toContain(PASSWORD);
    expect(await drainCount()).toBe(before);
  });
});
