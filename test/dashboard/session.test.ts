import { adminTokenFingerprint } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionPrincipal } from '../../apps/api/src/http/auth.ts';
import { createTestApi, type TestApi } from '../support/api.ts';

/**
 * The dashboard's sign-in: an API token exchanged for a session cookie, CSRF
 * on every change made with it, sign-out revoking it, and an app token's
 * session seeing its app only.
 */

let api: TestApi;

beforeAll(async () => {
  api = await createTestApi({ sessionTtlMs: 60 * 60_000 });
  for (const name of ['alpha', 'beta']) {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  }
});

afterAll(async () => {
  await api?.close();
});

/** Signs in with `token`; the cookie header to send back and the CSRF token. */
async function signIn(token: string, headers: Record<string, string> = {}) {
  const res = await api.request({ method: 'POST', url: '/session', token: null, payload: { token }, headers });
  expect(res.statusCode, res.body).toBe(201);
  const setCookie = String(res.headers['set-cookie']);
  const cookie = setCookie.split(';')[0] as string;
  return { cookie, setCookie, csrf: (res.json() as { csrfToken: string }).csrfToken, body: res.json() };
}

function withCookie(
  cookie: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  extra: Record<string, string> = {},
  payload?: Record<string, unknown>,
) {
  return api.request({ method, url, token: null, headers: { cookie, ...extra }, ...(payload !== undefined ? { payload } : {}) });
}

const appNames = async (cookie: string) =>
  ((await withCookie(cookie, 'GET', '/apps')).json() as { apps: { name: string }[] }).apps.map((a) => a.name).sort();

describe('signing in', () => {
  it('sets an HttpOnly, SameSite=Strict cookie that expires, with Secure only over HTTPS', async () => {
    const plain = await signIn(api.adminToken);
    expect(plain.setCookie).toMatch(/^pier_session=[A-Za-z0-9_-]{43}; Max-Age=3600; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(plain.body).toMatchObject({ role: 'admin', app: null });
    expect(new Date(plain.body.expiresAt).getTime() - Date.now()).toBeGreaterThan(59 * 60_000);
    // Behind Pier's proxy on HTTPS (it is the one hop whose X-Forwarded-Proto is believed): a __Host- cookie.
    const https = { 'x-forwarded-proto': 'https', host: 'pier.example.org', origin: 'https://pier.example.org' };
    const secure = await signIn(api.adminToken, https);
    expect(secure.setCookie).toMatch(
      /^__Host-pier_session=[A-Za-z0-9_-]{43}; Max-Age=3600; Path=\/; HttpOnly; SameSite=Strict; Secure$/,
    );
    const overHttps = await withCookie(secure.cookie, 'GET', '/apps', https);
    expect(overHttps.statusCode).toBe(200);
    // The plain cookie is not read over HTTPS (a sibling subdomain could have planted it).
    expect((await withCookie(plain.cookie, 'GET', '/apps', https)).statusCode).toBe(401);
  });

  it('uses no session when two session cookies come (one was planted, e.g. by a sibling subdomain)', async () => {
    const mine = await signIn(api.adminToken);
    const planted = await signIn(api.adminToken);
    expect((await withCookie(`${mine.cookie}; ${planted.cookie}`, 'GET', '/apps')).statusCode).toBe(401);
    expect((await withCookie(`other=1; ${mine.cookie}`, 'GET', '/apps')).statusCode).toBe(200);
  });

  it('refuses a sign-in over plain HTTP from another machine (the token would cross the network in clear)', async () => {
    const res = await api.request({
      method: 'POST',
      url: '/session',
      token: null,
      payload: { token: api.adminToken },
      remoteAddress: '192.0.2.10',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toMatch(/^token: sign in over HTTPS/);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('refuses an unknown token, naming the field, and sets no cookie; the token never reaches the logs', async () => {
    const wrong = `pier_${'x'.repeat(43)}`;
    const res = await api.request({ method: 'POST', url: '/session', token: null, payload: { token: wrong } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/^token: /);
    expect(res.headers['set-cookie']).toBeUndefined();
    const empty = await api.request({ method: 'POST', url: '/session', token: null, payload: { token: '' } });
    expect(empty.statusCode).toBe(422);
    expect(api.logs.join('')).not.toContain(wrong);
    expect(api.logs.join('')).not.toContain(api.adminToken);
  });

  it('limits sign-in attempts per address (guessing tokens is slow)', async () => {
    const limited = await createTestApi({ signInRateLimitPerMinute: 3 });
    try {
      const attempt = (token: string) => limited.request({ method: 'POST', url: '/session', token: null, payload: { token } });
      for (let i = 0; i < 3; i++) expect((await attempt(`wrong-${i}`)).statusCode).toBe(401);
      const refused = await attempt(limited.adminToken);
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error.message).toMatch(/^too many sign-in attempts from /);
      expect(refused.headers['set-cookie']).toBeUndefined();
    } finally {
      await limited.close();
    }
  });

  it('refuses a sign-in posted from another origin (login CSRF)', async () => {
    const res = await api.request({
      method: 'POST',
      url: '/session',
      token: null,
      payload: { token: api.adminToken },
      headers: { origin: 'https://evil.example' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('GET /session answers the CSRF token with the cookie, and 204 without a live one', async () => {
    const { cookie, csrf } = await signIn(api.adminToken);
    const res = await withCookie(cookie, 'GET', '/session');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ role: 'admin', csrfToken: csrf });
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await api.request({ method: 'GET', url: '/session', token: null })).statusCode).toBe(204);
  });
});

describe('changes made with the session cookie', () => {
  it('are refused without the CSRF token, with a wrong one, or from another origin; nothing is created', async () => {
    const { cookie, csrf } = await signIn(api.adminToken);
    const before = await appNames(cookie);
    const missing = await withCookie(cookie, 'POST', '/apps', {}, { name: 'gamma' });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error.message).toMatch(/^x-csrf-token: /);
    const wrong = await withCookie(cookie, 'POST', '/apps', { 'x-csrf-token': `${csrf.slice(0, -2)}xx` }, { name: 'gamma' });
    expect(wrong.statusCode).toBe(403);
    const otherSite = await withCookie(
      cookie,
      'POST',
      '/apps',
      { 'x-csrf-token': csrf, origin: 'https://evil.example' },
      { name: 'gamma' },
    );
    expect(otherSite.statusCode).toBe(403);
    expect(otherSite.json().error.message).toMatch(/^origin: /);
    // A DELETE is a change too.
    expect((await withCookie(cookie, 'DELETE', '/apps/alpha?wait=0')).statusCode).toBe(403);
    expect(await appNames(cookie)).toEqual(before);

    const made = await withCookie(
      cookie,
      'POST',
      '/apps',
      { 'x-csrf-token': csrf, origin: 'http://localhost:80' },
      { name: 'gamma' },
    );
    expect(made.statusCode, made.body).toBe(201);
    expect(await appNames(cookie)).toEqual([...before, 'gamma'].sort());
  });

  it('signing in again from the same browser revokes the session its cookie held', async () => {
    const first = await signIn(api.adminToken);
    const again = await api.request({
      method: 'POST',
      url: '/session',
      token: null,
      payload: { token: api.adminToken },
      headers: { cookie: first.cookie },
    });
    expect(again.statusCode).toBe(201);
    expect((await withCookie(first.cookie, 'GET', '/apps')).statusCode).toBe(401);
    const second = String(again.headers['set-cookie']).split(';')[0] as string;
    expect((await withCookie(second, 'GET', '/apps')).statusCode).toBe(200);
  });

  it("one session's CSRF token does not work with another session's cookie", async () => {
    const first = await signIn(api.adminToken);
    const second = await signIn(api.adminToken);
    expect(first.csrf).not.toBe(second.csrf);
    const crossed = await withCookie(first.cookie, 'POST', '/apps', { 'x-csrf-token': second.csrf }, { name: 'delta' });
    expect(crossed.statusCode).toBe(403);
    expect(await appNames(first.cookie)).not.toContain('delta');
  });

  it('a bearer token still needs no CSRF token (the CLI, CI)', async () => {
    const res = await api.request({ method: 'POST', url: '/apps', payload: { name: 'epsilon' } });
    expect(res.statusCode).toBe(201);
  });
});

describe('signing out', () => {
  it('revokes the session on the server and clears the cookie', async () => {
    const { cookie, csrf } = await signIn(api.adminToken);
    expect((await withCookie(cookie, 'GET', '/apps')).statusCode).toBe(200);
    const refused = await withCookie(cookie, 'DELETE', '/session');
    expect(refused.statusCode).toBe(403);
    const out = await withCookie(cookie, 'DELETE', '/session', { 'x-csrf-token': csrf });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^pier_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict/);
    // The same cookie, replayed: the server no longer knows it.
    const after = await withCookie(cookie, 'GET', '/apps');
    expect(after.statusCode).toBe(401);
    expect(after.json().error.message).toMatch(/^session: /);
    expect((await withCookie(cookie, 'GET', '/session')).statusCode).toBe(204);
  });

  it('a session ends when it expires', async () => {
    const short = await createTestApi({ sessionTtlMs: 3000 });
    try {
      const res = await short.request({ method: 'POST', url: '/session', token: null, payload: { token: short.adminToken } });
      expect(String(res.headers['set-cookie'])).toContain('Max-Age=3;');
      const cookie = String(res.headers['set-cookie']).split(';')[0] as string;
      expect((await short.request({ method: 'GET', url: '/apps', token: null, headers: { cookie } })).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 3300));
      expect((await short.request({ method: 'GET', url: '/apps', token: null, headers: { cookie } })).statusCode).toBe(401);
    } finally {
      await short.close();
    }
  });

  it('a session made from PIER_ADMIN_TOKEN ends when that token is changed', () => {
    const row = {
      id: 'x',
      tokenId: null,
      appId: null,
      adminFingerprint: adminTokenFingerprint('a'.repeat(40)),
      expiresAt: new Date(),
    };
    expect(sessionPrincipal(row, 'a'.repeat(40))).toEqual({ role: 'admin', tokenId: null });
    expect(sessionPrincipal(row, 'b'.repeat(40))).toBeNull();
  });
});

describe("an app token's session", () => {
  it('sees its app only, cannot reach another, and ends when the token is revoked', async () => {
    const created = await api.request({ method: 'POST', url: '/tokens', payload: { name: 'alpha-dash', app: 'alpha' } });
    const { token, id } = created.json() as { token: string; id: string };
    const { cookie, csrf, body } = await signIn(token);
    expect(body).toMatchObject({ role: 'app', app: 'alpha' });

    expect(await appNames(cookie)).toEqual(['alpha']);
    const overview = (await withCookie(cookie, 'GET', '/overview')).json() as { apps: { name: string }[] };
    expect(overview.apps.map((a) => a.name)).toEqual(['alpha']);
    expect((await withCookie(cookie, 'GET', '/apps/beta')).statusCode).toBe(404);
    for (const url of [
      '/apps/beta/environments/staging/variables',
      '/apps/beta/environments/staging/variables/A',
      '/apps/beta/environments/staging/logs',
      '/apps/beta/environments/staging/status',
      '/apps/beta/events',
      '/apps/beta/deployments',
    ]) {
      expect((await withCookie(cookie, 'GET', url)).statusCode, url).toBe(404);
    }
    expect((await withCookie(cookie, 'GET', '/tokens')).statusCode).toBe(403);
    const set = await withCookie(
      cookie,
      'PATCH',
      '/apps/beta/environments/staging/variables',
      { 'x-csrf-token': csrf },
      { set: { A: '1' } },
    );
    expect(set.statusCode).toBe(404);
    const own = await withCookie(
      cookie,
      'PATCH',
      '/apps/alpha/environments/staging/variables',
      { 'x-csrf-token': csrf },
      { set: { A: '1' } },
    );
    expect(own.statusCode, own.body).toBe(200);

    expect((await api.request({ method: 'DELETE', url: `/tokens/${id}` })).statusCode).toBe(204);
    expect((await withCookie(cookie, 'GET', '/apps')).statusCode).toBe(401);
  });
});
