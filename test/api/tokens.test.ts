import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';

let api: TestApi;
/** A token limited to the app `web`; `other` is an app it must not see. */
let webToken: string;
let webTokenId: string;

beforeAll(async () => {
  api = await createTestApi();
  for (const name of ['web', 'other']) await api.request({ method: 'POST', url: '/apps', payload: { name } });
  await api.request({
    method: 'PATCH',
    url: '/apps/other/environments/production/variables',
    payload: { set: { OTHER_SECRET: 'other-value' } },
  });
  const created = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'web deploys', app: 'web' } })).json();
  webToken = created.token;
  webTokenId = created.id;
});
afterAll(async () => api.close());

async function createToken(payload: { name: string; app?: string }) {
  const res = await api.request({ method: 'POST', url: '/tokens', payload });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; token: string; name: string; app: string | null; displayPrefix: string };
}

describe('token issue and storage', () => {
  it('returns the token once, in the POST response', async () => {
    const res = await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci: deploy@web', app: 'web' } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'ci: deploy@web',
      displayPrefix: body.token.slice(0, 12),
      app: 'web',
      createdAt: expect.any(String),
      lastUsedAt: null,
      token: expect.stringMatching(/^pier_[A-Za-z0-9_-]{43}$/),
    });
  });

  it('never returns a token value or hash in GET /tokens', async () => {
    const { token } = await createToken({ name: 'listed' });
    const res = await api.request({ method: 'GET', url: '/tokens' });
    expect(res.statusCode).toBe(200);
    const { tokens } = res.json();
    expect(tokens.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['web deploys', 'listed']));
    for (const listed of tokens) {
      expect(Object.keys(listed).sort()).toEqual(['app', 'createdAt', 'displayPrefix', 'id', 'lastUsedAt', 'name']);
    }
    expect(res.body).not.toContain(token);
    expect(res.body).not.toContain(webToken);
    expect(res.body).not.toContain(hash(token));
  });

  it('stores only the SHA-256 of a token', async () => {
    const { id, token } = await createToken({ name: 'stored' });
    const [row] = await api.database.sql`select t::text as text, token_hash from api_tokens t where id = ${id}`;
    expect(row?.token_hash).toBe(hash(token));
    expect(row?.text).not.toContain(token);
    const all = await api.database.sql`select t::text as text from api_tokens t`;
    for (const { text } of all) expect(text).not.toContain(webToken);
  });

  it('records when a token was last used', async () => {
    await api.request({ method: 'GET', url: '/apps', token: webToken });
    const { tokens } = (await api.request({ method: 'GET', url: '/tokens' })).json();
    const listed = tokens.find((t: { id: string }) => t.id === webTokenId);
    expect(listed.lastUsedAt).toEqual(expect.any(String));
  });

  it('gives a token without an app admin rights', async () => {
    const { token, app } = await createToken({ name: 'second admin' });
    expect(app).toBeNull();
    const created = await api.request({ method: 'POST', url: '/apps', payload: { name: 'by-admin-token' }, token });
    expect(created.statusCode).toBe(201);
    expect((await api.request({ method: 'GET', url: '/tokens', token })).statusCode).toBe(200);
  });

  it('refuses a token for an app that does not exist', async () => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ghost', app: 'ghost' } });
    expectError(res, 404, 'not_found', 'ghost');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });
});

describe('an app-scoped token', () => {
  it('lists only its app', async () => {
    const res = await api.request({ method: 'GET', url: '/apps', token: webToken });
    expect(res.statusCode).toBe(200);
    expect(res.json().apps.map((a: { name: string }) => a.name)).toEqual(['web']);
  });

  it.each([
    ['GET', '/apps/other'],
    ['PATCH', '/apps/other', { defaultBranch: 'hijack' }],
    ['GET', '/apps/other/environments'],
    ['POST', '/apps/other/environments', { name: 'hijack' }],
    ['GET', '/apps/other/environments/production'],
    ['PATCH', '/apps/other/environments/production', { replicas: 0 }],
    ['DELETE', '/apps/other/environments/staging'],
    ['GET', '/apps/other/environments/production/variables?reveal=true'],
    ['PATCH', '/apps/other/environments/production/variables', { set: { HIJACK: 'x' } }],
    ['DELETE', '/apps/other/environments/production/variables/OTHER_SECRET'],
  ])('gets 404 for %s %s of another app, which stays unchanged', async (method, url, payload?: object) => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: method as 'GET', url, payload, token: webToken });
    expectError(res, 404, 'not_found', 'app other not found');
    expect(res.body).not.toContain('other-value');
    expect(withoutLastUsed(await snapshotState(api.database.sql))).toEqual(withoutLastUsed(before));
  });

  it.each([
    ['POST', '/apps', { name: 'new-app' }],
    ['DELETE', '/apps/web'],
    ['DELETE', '/apps/other'],
    ['GET', '/tokens'],
    ['POST', '/tokens', { name: 'escalate' }],
    ['POST', '/tokens', { name: 'sibling', app: 'web' }],
    ['DELETE', '/tokens/:self'],
  ])('gets 403 forbidden for %s %s', async (method, url, payload?: object) => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({
      method: method as 'GET',
      url: url.replace(':self', webTokenId),
      payload,
      token: webToken,
    });
    expectError(res, 403, 'forbidden', 'only an admin token may');
    expect(withoutLastUsed(await snapshotState(api.database.sql))).toEqual(withoutLastUsed(before));
  });

  it('manages its own app’s environments and variables', async () => {
    const as = (method: string, url: string, payload?: object) =>
      api.request({ method: method as 'GET', url, payload, token: webToken });

    expect((await as('GET', '/apps/web')).statusCode).toBe(200);
    expect((await as('POST', '/apps/web/environments', { name: 'preview' })).statusCode).toBe(201);
    expect((await as('PATCH', '/apps/web/environments/preview', { replicas: 2 })).json().replicas).toBe(2);
    expect((await as('GET', '/apps/web/environments')).json().environments).toHaveLength(3);

    const changed = await as('PATCH', '/apps/web/environments/preview/variables', { set: { A: '1', B: '2' } });
    expect(changed.json()).toEqual({ set: ['A', 'B'], unset: [], configVersion: 1, deployment: null });
    const revealed = await as('GET', '/apps/web/environments/preview/variables?reveal=true');
    expect(revealed.json().variables.map((v: { value: string }) => v.value)).toEqual(['1', '2']);
    expect((await as('DELETE', '/apps/web/environments/preview/variables/A')).statusCode).toBe(204);
    expect((await as('DELETE', '/apps/web/environments/preview')).statusCode).toBe(204);
  });
});

describe('revocation', () => {
  it('makes the token answer 401 and drops it from the list', async () => {
    const { id, token } = await createToken({ name: 'short-lived', app: 'web' });
    expect((await api.request({ method: 'GET', url: '/apps', token })).statusCode).toBe(200);

    expect((await api.request({ method: 'DELETE', url: `/tokens/${id}` })).statusCode).toBe(204);

    const res = await api.request({ method: 'GET', url: '/apps', token });
    expectError(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    const { tokens } = (await api.request({ method: 'GET', url: '/tokens' })).json();
    expect(tokens.map((t: { id: string }) => t.id)).not.toContain(id);
  });

  it('answers 404 for a token revoked twice, an unknown id and a malformed id', async () => {
    const { id } = await createToken({ name: 'twice' });
    await api.request({ method: 'DELETE', url: `/tokens/${id}` });
    for (const unknown of [id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      expectError(await api.request({ method: 'DELETE', url: `/tokens/${unknown}` }), 404, 'not_found', unknown);
    }
  });

  it('ends an app token’s access when its app is deleted', async () => {
    await api.request({ method: 'POST', url: '/apps', payload: { name: 'temporary' } });
    const { token } = await createToken({ name: 'temporary', app: 'temporary' });
    expect((await api.request({ method: 'DELETE', url: '/apps/temporary' })).statusCode).toBe(202);

    expectError(await api.request({ method: 'GET', url: '/apps', token }), 401, 'unauthorized');
    // Re-creating an app of the same name does not revive the old token.
    await api.request({ method: 'POST', url: '/apps', payload: { name: 'temporary' } });
    expectError(await api.request({ method: 'GET', url: '/apps/temporary', token }), 401, 'unauthorized');
  });
});

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Using a token stamps `last_used_at`; everything else must stay as it was. */
function withoutLastUsed(state: Awaited<ReturnType<typeof snapshotState>>) {
  const tokens = state.api_tokens as { last_used_at: unknown }[];
  return { ...state, api_tokens: tokens.map(({ last_used_at: _, ...row }) => row) };
}
