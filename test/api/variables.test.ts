import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, ROOMY_QUOTAS, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ quotas: ROOMY_QUOTAS });
  await api.request({ method: 'POST', url: '/apps', payload: { name: 'web' } });
});
afterAll(async () => api.close());

/** A fresh environment per test, so config versions start at 0. */
async function freshEnvironment(): Promise<string> {
  const name = `env-${randomBytes(4).toString('hex')}`;
  const res = await api.request({ method: 'POST', url: '/apps/web/environments', payload: { name } });
  expect(res.statusCode).toBe(201);
  return `/apps/web/environments/${name}`;
}

async function change(envUrl: string, payload: { set?: Record<string, string>; unset?: string[] }) {
  const res = await api.request({ method: 'PATCH', url: `${envUrl}/variables`, payload });
  expect(res.statusCode).toBe(200);
  return res.json() as { set: string[]; unset: string[]; configVersion: number };
}

async function list(envUrl: string, query = '') {
  const res = await api.request({ method: 'GET', url: `${envUrl}/variables${query}` });
  expect(res.statusCode).toBe(200);
  return res.json().variables as { key: string; value: string | null; updatedAt: string }[];
}

async function configVersion(envUrl: string): Promise<number> {
  return (await api.request({ method: 'GET', url: envUrl })).json().configVersion;
}

/** A value that is easy to look for and cannot appear by chance. */
function secret(label: string): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

describe('variables', () => {
  it('sets many at once and bumps the config version once', async () => {
    const env = await freshEnvironment();
    const set = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`KEY_${String(i).padStart(2, '0')}`, `value ${i}`]));
    const result = await change(env, { set });
    expect(result).toEqual({ set: Object.keys(set), unset: [], configVersion: 1, deployment: null });
    expect(await configVersion(env)).toBe(1);
    expect((await list(env, '?reveal=true')).map((v) => [v.key, v.value])).toEqual(Object.entries(set));
  });

  it('unsetting keys that do not exist changes nothing, not even the config version', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { KEEP: 'x' } });
    expect(await change(env, { unset: ['NOT_THERE'] })).toEqual({ set: [], unset: [], configVersion: 1, deployment: null });
    expect(await configVersion(env)).toBe(1);
  });

  it('upserts in one statement: a second set replaces values without duplicating keys', async () => {
    const env = await freshEnvironment();
    const set = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`K_${i}`, `one ${i}`]));
    await change(env, { set });
    await change(env, { set: { ...set, K_7: 'two' } });
    const values = await list(env, '?reveal=true');
    expect(values).toHaveLength(500);
    expect(values.find((v) => v.key === 'K_7')?.value).toBe('two');
    expect(await configVersion(env)).toBe(2);
  });

  it('lists values masked unless reveal is true', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { DATABASE_PASSWORD: 'hunter2', API_KEY: 'sk-123', EMPTY: '' } });

    const masked = await list(env);
    expect(masked).toEqual([
      { key: 'API_KEY', value: null, updatedAt: expect.any(String) },
      { key: 'DATABASE_PASSWORD', value: null, updatedAt: expect.any(String) },
      { key: 'EMPTY', value: null, updatedAt: expect.any(String) },
    ]);
    for (const query of ['?reveal=false', '?reveal=0']) expect(await list(env, query)).toEqual(masked);
    for (const query of ['?reveal=true', '?reveal=1']) {
      expect((await list(env, query)).map((v) => v.value)).toEqual(['sk-123', 'hunter2', '']);
    }
  });

  it('reveals one variable at a time, uncached; an unset key is 404 and a bad key 422', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { DATABASE_PASSWORD: 'hunter2', API_KEY: 'sk-123', EMPTY: '' } });
    const one = await api.request({ method: 'GET', url: `${env}/variables/API_KEY` });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ key: 'API_KEY', value: 'sk-123', updatedAt: expect.any(String) });
    expect(one.body).not.toContain('hunter2');
    expect(one.headers['cache-control']).toBe('no-store');
    expect((await api.request({ method: 'GET', url: `${env}/variables/EMPTY` })).json().value).toBe('');
    const missing = await api.request({ method: 'GET', url: `${env}/variables/NOPE` });
    expect(missing.statusCode).toBe(404);
    expect((await api.request({ method: 'GET', url: `${env}/variables/bad-key` })).statusCode).toBe(422);
  });

  it('keeps unicode, newlines and quotes intact', async () => {
    const env = await freshEnvironment();
    const value = 'línea 1\nline "2" \'3\' $(id) `x` ; ✓ 🚀\ttab';
    await change(env, { set: { TRICKY: value } });
    expect((await list(env, '?reveal=true'))[0]?.value).toBe(value);
  });

  it('overwrites a value and bumps the version', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { A: 'one' } });
    expect(await change(env, { set: { A: 'two' } })).toEqual({ set: ['A'], unset: [], configVersion: 2, deployment: null });
    expect(await list(env, '?reveal=true')).toEqual([{ key: 'A', value: 'two', updatedAt: expect.any(String) }]);
  });

  it('sets and unsets in one request', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { A: '1', B: '2', C: '3' } });
    const result = await change(env, { set: { D: '4' }, unset: ['A', 'C'] });
    expect(result).toEqual({ set: ['D'], unset: ['A', 'C'], configVersion: 2, deployment: null });
    expect((await list(env)).map((v) => v.key)).toEqual(['B', 'D']);
  });

  it('reports only the keys an unset actually removed', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { A: '1' } });
    expect(await change(env, { unset: ['A', 'NEVER_SET'] })).toEqual({
      set: [],
      unset: ['A'],
      configVersion: 2,
      deployment: null,
    });
    expect(await list(env)).toEqual([]);
  });

  it('deletes one variable, bumping the version', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { A: '1', B: '2' } });
    const res = await api.request({ method: 'DELETE', url: `${env}/variables/A` });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await list(env)).map((v) => v.key)).toEqual(['B']);
    expect(await configVersion(env)).toBe(2);
  });

  it('answers 404 to deleting a missing variable and leaves the version alone', async () => {
    const env = await freshEnvironment();
    await change(env, { set: { A: '1' } });
    for (const key of ['MISSING', 'A_']) {
      expectError(await api.request({ method: 'DELETE', url: `${env}/variables/${key}` }), 404, 'not_found', key);
    }
    expect(await configVersion(env)).toBe(1);
    expect((await list(env)).map((v) => v.key)).toEqual(['A']);
  });

  it('keeps environments apart', async () => {
    const [staging, preview] = [await freshEnvironment(), await freshEnvironment()];
    await change(staging, { set: { ONLY_HERE: 'x' } });
    expect(await list(preview)).toEqual([]);
    expect(await configVersion(preview)).toBe(0);
    expectError(await api.request({ method: 'DELETE', url: `${preview}/variables/ONLY_HERE` }), 404, 'not_found');
  });

  it('serialises concurrent changes: every one bumps the version', async () => {
    const env = await freshEnvironment();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => change(env, { set: { [`K${i}`]: String(i), SHARED: String(i) } })),
    );
    expect(results.map((r) => r.configVersion).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(await configVersion(env)).toBe(5);
    expect((await list(env)).map((v) => v.key)).toEqual(['K0', 'K1', 'K2', 'K3', 'K4', 'SHARED']);
  });
});

describe('secrecy of values', () => {
  it('stores values sealed: the plaintext is nowhere in the row', async () => {
    const env = await freshEnvironment();
    const plain = secret('row');
    await change(env, { set: { ROW_SECRET: plain, SAME_AGAIN: plain } });

    const rows = await api.database.sql`
      select v::text as text, v.environment_id, v.key, v.key_id, v.value_ciphertext
      from variables v where v.key in ('ROW_SECRET', 'SAME_AGAIN') order by v.key`;
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.text).not.toContain(plain);
      expect(row.text).not.toContain(Buffer.from(plain).toString('base64'));
      expect(row.text).not.toContain(Buffer.from(plain).toString('hex'));
      // It is real encryption under the configured key, bound to its row.
      const sealed = { keyId: row.key_id, ciphertext: row.value_ciphertext };
      expect(row.key_id).toBe(api.box.currentKeyId);
      expect(api.box.open(sealed, `variable:${row.environment_id}:${row.key}`)).toBe(plain);
    }
    // The same value twice is sealed with different nonces.
    expect(rows[0]?.value_ciphertext).not.toBe(rows[1]?.value_ciphertext);
  });

  it('keeps values out of error bodies', async () => {
    const env = await freshEnvironment();
    const plain = secret('error-body');
    const refusals = [
      { set: { GOOD: plain, 'bad-key': plain } },
      { set: { PORT: plain } },
      { set: { PIER_TOKEN: plain } },
      { set: { A: plain }, unset: ['A'] },
      { set: { A: `${plain}\0` } },
      { set: { A: plain.repeat(5000) } },
    ];
    for (const payload of refusals) {
      const res = await api.request({ method: 'PATCH', url: `${env}/variables`, payload });
      expect(res.statusCode).toBe(422);
      expect(res.body).not.toContain(plain);
    }
    const malformed = `{"set": {"A": "${plain}"},}`;
    const res = await api.request({
      method: 'PATCH',
      url: `${env}/variables`,
      payload: malformed,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain(plain);
    expect(await list(env)).toEqual([]);
  });

  it('keeps values and tokens out of the logs', async () => {
    const env = await freshEnvironment();
    const plain = secret('log');
    await change(env, { set: { LOGGED_SECRET: plain } });
    await list(env, '?reveal=true');
    await api.request({ method: 'PATCH', url: `${env}/variables`, payload: { set: { LOGGED_SECRET: plain, PORT: plain } } });
    await api.request({ method: 'PATCH', url: `${env}/variables`, payload: { set: { 'bad key': plain } } });
    await api.request({
      method: 'PATCH',
      url: `${env}/variables`,
      payload: `{"set":{"A":"${plain}"}`,
      headers: { 'content-type': 'application/json' },
    });
    await api.request({ method: 'DELETE', url: `${env}/variables/LOGGED_SECRET` });
    const { token } = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'logged', app: 'web' } })).json();
    await api.request({ method: 'GET', url: `${env}/variables?reveal=true`, token });
    await api.request({ method: 'GET', url: '/apps', token: `${token}x` });

    const logs = api.logs.join('');
    expect(api.logs.length).toBeGreaterThan(10);
    expect(logs).toContain('request completed');
    expect(logs).not.toContain(plain);
    expect(logs).not.toContain(api.adminToken);
    expect(logs).not.toContain(token);
  });
});

describe('GET …/variables/compare', () => {
  it('names what differs between two environments, never a value', async () => {
    const staging = await freshEnvironment();
    const production = await freshEnvironment();
    const shared = secret('shared');
    await change(staging, { set: { SAME: shared, DIFF: secret('staging'), ONLY_STAGING: secret('only') } });
    await change(production, { set: { SAME: shared, DIFF: secret('production'), ONLY_PRODUCTION: secret('only') } });
    const other = production.split('/').pop();
    const res = await api.request({ method: 'GET', url: `${staging}/variables/compare?with=${other}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      environment: staging.split('/').pop(),
      with: other,
      onlyHere: ['ONLY_STAGING'],
      onlyThere: ['ONLY_PRODUCTION'],
      differing: ['DIFF'],
    });
    expect(res.body).not.toContain(shared);
    expectError(
      await api.request({ method: 'GET', url: `${staging}/variables/compare` }),
      422,
      'validation_failed',
      'query.with',
    );
    const missing = await api.request({ method: 'GET', url: `${staging}/variables/compare?with=nope` });
    expect(missing.statusCode).toBe(404);
  });
});
