import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ publicAddresses: ['203.0.113.7', '2001:db8::7'] });
  for (const name of ['web', 'shop']) await api.request({ method: 'POST', url: '/apps', payload: { name } });
});
afterAll(async () => api?.close());

const domainsOf = (app: string, env = 'production') => `/apps/${app}/environments/${env}/domains`;
const add = (app: string, hostname: unknown, env = 'production') =>
  api.request({ method: 'POST', url: domainsOf(app, env), payload: { hostname } });

describe('custom domains API', () => {
  it('adds a domain lower-cased, lists it with its certificate state, and notifies the route feed', async () => {
    const notified: string[] = [];
    const listener = await api.database.sql.listen('pier_routes', (payload) => notified.push(payload));
    const res = await add('web', '  WWW.Example.ORG. ');
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ hostname: 'www.example.org', certificate: { state: 'pending', valid: false } });
    await expect.poll(() => notified.length).toBeGreaterThan(0);
    await listener.unlisten();

    await api.database.sql`insert into certificates (hostname, state, not_before, not_after)
      values ('www.example.org', 'issued', now() - interval '1 day', now() + interval '89 days')
      on conflict (hostname) do update set state = 'issued', not_before = excluded.not_before, not_after = excluded.not_after`;
    const list = await api.request({ method: 'GET', url: domainsOf('web') });
    expect(list.statusCode).toBe(200);
    expect(list.json().domains).toEqual([
      {
        hostname: 'www.example.org',
        createdAt: expect.any(String),
        certificate: expect.objectContaining({ state: 'issued', valid: true, notAfter: expect.any(String) }),
        records: [
          { type: 'CNAME', name: 'www.example.org', value: 'web.pier.test' },
          { type: 'A', name: 'www.example.org', value: '203.0.113.7' },
          { type: 'AAAA', name: 'www.example.org', value: '2001:db8::7' },
        ],
      },
    ]);
    const staging = await add('web', 'beta.example.org', 'staging');
    expect(staging.json().records[0]).toEqual({ type: 'CNAME', name: 'beta.example.org', value: 'web-staging.pier.test' });
  });

  it('refuses a hostname another app (or environment) already has, with 409 naming the field and the owner', async () => {
    const message = expectError(await add('shop', 'www.example.org'), 409, 'conflict', 'hostname');
    expect(message).toContain('app web, environment production');
    expectError(await add('web', 'WWW.EXAMPLE.ORG', 'staging'), 409, 'conflict', 'body.hostname');
  });

  it("refuses another app's generated hostname", async () => {
    expectError(
      await add('web', 'shop.pier.test'),
      409,
      'conflict',
      'body.hostname: shop.pier.test is a generated hostname of app shop',
    );
    expectError(await add('web', 'shop-staging.pier.test'), 409, 'conflict', 'app shop');
  });

  it('refuses names directly under the base domain that nobody has yet, and the base domain itself', async () => {
    expectError(await add('web', 'blog.pier.test'), 422, 'validation_failed', 'body.hostname: names directly under pier.test');
    expectError(await add('web', 'pier.test'), 422, 'validation_failed', 'body.hostname');
  });

  it.each([
    ['127.0.0.1', 'IP address'],
    ['::1', 'IP address'],
    ['[2001:db8::1]', 'IP address'],
    ['localhost', 'two labels'],
    ['bad_name.example.org', 'RFC 1123'],
    ['-x.example.org', 'RFC 1123'],
    ['a..example.org', 'empty labels'],
    ['*.example.org', 'wildcard'],
    [`${'a'.repeat(64)}.example.org`, 'RFC 1123'],
    [42, 'body.hostname'],
    ['', 'empty'],
  ])('refuses %j with 422 naming body.hostname', async (hostname, part) => {
    const message = expectError(await add('web', hostname), 422, 'validation_failed', part);
    expect(message).toMatch(/^body\.hostname: /);
  });

  it('refuses unknown fields', async () => {
    const res = await api.request({ method: 'POST', url: domainsOf('web'), payload: { hostname: 'a.example.org', x: 1 } });
    expectError(res, 422, 'validation_failed', 'unknown field x');
  });

  it('keeps a domain under the base domain one level deeper, and removes domains', async () => {
    expect((await add('web', 'www.web.pier.test')).statusCode).toBe(201);
    const removed = await api.request({ method: 'DELETE', url: `${domainsOf('web')}/www.web.pier.test` });
    expect(removed.statusCode).toBe(204);
    expectError(await api.request({ method: 'DELETE', url: `${domainsOf('web')}/www.web.pier.test` }), 404, 'not_found');
  });

  it("an app token sees only its own app's domains", async () => {
    const created = await api.request({ method: 'POST', url: '/tokens', payload: { name: 'shop-ci', app: 'shop' } });
    const token = created.json().token as string;
    expectError(await api.request({ method: 'GET', url: domainsOf('web'), token }), 404, 'not_found');
    expect((await api.request({ method: 'GET', url: domainsOf('shop'), token })).statusCode).toBe(200);
  });

  it('turns the redirect and HSTS on and off per environment', async () => {
    const url = '/apps/web/environments/production/https';
    const res = await api.request({ method: 'PATCH', url, payload: { redirect: false, hsts: true } });
    expect(res.json()).toEqual({ redirect: false, hsts: true });
    const list = await api.request({ method: 'GET', url: domainsOf('web') });
    expect(list.json().https).toEqual({ redirect: false, hsts: true });
    expectError(await api.request({ method: 'PATCH', url, payload: {} }), 422, 'validation_failed', 'redirect');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await api.request({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/apps/{app}/environments/{env}/domains', '/apps/{app}/environments/{env}/domains/{hostname}']),
    );
  });
});
