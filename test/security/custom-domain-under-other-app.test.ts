import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

/**
 * A custom domain under another app's generated hostname (`x.shop.<base>`,
 * `x.shop-staging.<base>`) would let one app answer for names under another's,
 * and set cookies for them: refused, naming the owner, with an admin token as
 * with the app's own.
 */

let api: TestApi;
let webToken: string;

beforeAll(async () => {
  api = await createTestApi();
  for (const name of ['web', 'shop']) {
    const created = await api.request({ method: 'POST', url: '/apps', payload: { name } });
    expect(created.statusCode).toBe(201);
  }
  const token = await api.request({ method: 'POST', url: '/tokens', payload: { name: 'web-ci', app: 'web' } });
  webToken = token.json().token as string;
});
afterAll(async () => api?.close());

const add = (hostname: string, token?: string) =>
  api.request({ method: 'POST', url: '/apps/web/environments/production/domains', payload: { hostname }, token });

describe("custom domains under another app's generated hostname", () => {
  it.each([
    ['x.shop.pier.test', 'shop.pier.test'],
    ['a.b.shop.pier.test', 'shop.pier.test'],
    ['x.shop-staging.pier.test', 'shop-staging.pier.test'],
    ['WWW.Shop-PR-4.Pier.Test.', 'shop-pr-4.pier.test'],
  ])('%s is refused with 409 naming the app', async (hostname, parent) => {
    for (const token of [undefined, webToken]) {
      const message = expectError(await add(hostname, token), 409, 'conflict', 'body.hostname');
      expect(message).toContain(`is under ${parent}, a generated hostname of app shop`);
    }
    const rows = await api.database.sql`select hostname from domains where hostname like '%shop%'`;
    expect(rows).toEqual([]);
  });

  it('a name under a generated hostname no app has yet is refused too', async () => {
    expectError(
      await add('x.blog.pier.test'),
      422,
      'validation_failed',
      'body.hostname: x.blog.pier.test is under blog.pier.test',
    );
  });

  it("names under the app's own generated hostnames are its to use", async () => {
    for (const hostname of ['www.web.pier.test', 'api.web-staging.pier.test']) {
      const res = await add(hostname, webToken);
      expect(res.statusCode, res.body).toBe(201);
    }
  });
});
