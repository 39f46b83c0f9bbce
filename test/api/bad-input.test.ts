import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';

/**
 * Hostile and malformed identifiers at the API edge: each is refused with a
 * 4xx whose message names the field, and nothing in the database changes.
 */

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
  await api.request({ method: 'POST', url: '/apps', payload: { name: 'web' } });
  await api.request({ method: 'POST', url: '/apps/web/environments', payload: { name: 'preview' } });
  await api.request({ method: 'PATCH', url: VARIABLES_URL, payload: { set: { EXISTING: 'keep me' } } });
});
afterAll(async () => api.close());

const VARIABLES_URL = '/apps/web/environments/preview/variables';

const BAD_NAMES = [
  'a;id',
  '$(id)',
  '--help',
  '../x',
  'A',
  'Web',
  '-x',
  'x-',
  'a--b',
  '1abc',
  'a_b',
  'a b',
  'é',
  'a'.repeat(64),
  '',
];
/** Empty cannot be a path segment: `/apps/` is another URL. */
const BAD_PATH_NAMES = BAD_NAMES.filter((n) => n !== '');
/** Names that are still one path segment when sent without percent-encoding. */
const RAW_PATH_NAMES = BAD_PATH_NAMES.filter((n) => /^[\x21-\x7e]+$/.test(n) && !n.includes('/'));
const BAD_KEYS = ['lower', '1ABC', 'A-B', 'A B', '$(id)', 'A.B', 'Ä', 'A'.repeat(256)];

interface Case {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  payload?: unknown;
  /** The field the message must name. */
  field: string;
  status?: number;
}

const at = (name: string) => encodeURIComponent(name);
/** A readable test title for a value, however long. */
const show = (value: string) =>
  value.length > 20 ? `${JSON.stringify(value.slice(0, 8))}… (${value.length} characters)` : JSON.stringify(value);

const CASES: [string, Case][] = [
  ...BAD_NAMES.map((name): [string, Case] => [
    `app name ${show(name)} in a body`,
    { method: 'POST', url: '/apps', payload: { name }, field: 'body.name' },
  ]),
  ...BAD_PATH_NAMES.flatMap((name): [string, Case][] => [
    [`app name ${show(name)} in GET`, { method: 'GET', url: `/apps/${at(name)}`, field: 'path.app' }],
    [
      `app name ${show(name)} in PATCH`,
      { method: 'PATCH', url: `/apps/${at(name)}`, payload: { defaultBranch: 'main' }, field: 'path.app' },
    ],
    [`app name ${show(name)} in DELETE`, { method: 'DELETE', url: `/apps/${at(name)}`, field: 'path.app' }],
    [
      `app name ${show(name)} in a variables URL`,
      {
        method: 'PATCH',
        url: `/apps/${at(name)}/environments/preview/variables`,
        payload: { set: { A: 'b' } },
        field: 'path.app',
      },
    ],
  ]),
  ...RAW_PATH_NAMES.map((name): [string, Case] => [
    `app name ${show(name)} unencoded in GET`,
    { method: 'GET', url: `/apps/${name}`, field: 'path.app' },
  ]),
  ...BAD_NAMES.map((name): [string, Case] => [
    `environment name ${show(name)} in a body`,
    { method: 'POST', url: '/apps/web/environments', payload: { name }, field: 'body.name' },
  ]),
  ...BAD_PATH_NAMES.flatMap((name): [string, Case][] => [
    [
      `environment name ${show(name)} in PATCH`,
      { method: 'PATCH', url: `/apps/web/environments/${at(name)}`, payload: { replicas: 2 }, field: 'path.env' },
    ],
    [
      `environment name ${show(name)} in a variables URL`,
      { method: 'PATCH', url: `/apps/web/environments/${at(name)}/variables`, payload: { set: { A: 'b' } }, field: 'path.env' },
    ],
  ]),
  ...BAD_KEYS.flatMap((key): [string, Case][] => [
    [`key ${show(key)} in set`, { method: 'PATCH', url: VARIABLES_URL, payload: { set: { [key]: 'v' } }, field: `set.${key}` }],
    [`key ${show(key)} in unset`, { method: 'PATCH', url: VARIABLES_URL, payload: { unset: [key] }, field: 'body.unset.0' }],
    [`key ${show(key)} in DELETE`, { method: 'DELETE', url: `${VARIABLES_URL}/${at(key)}`, field: 'path.key' }],
  ]),
  [
    'a 1 MB variable value',
    { method: 'PATCH', url: VARIABLES_URL, payload: { set: { KEY: 'v'.repeat(1024 * 1024) } }, field: 'set.KEY' },
  ],
  ['a value with a NUL character', { method: 'PATCH', url: VARIABLES_URL, payload: { set: { KEY: 'a\0b' } }, field: 'set.KEY' }],
  [
    'a batch with one bad key',
    {
      method: 'PATCH',
      url: VARIABLES_URL,
      payload: { set: { GOOD_ONE: '1', GOOD_TWO: '2', 'bad-key': '3' } },
      field: 'set.bad-key',
    },
  ],
  [
    'a batch with a bad key to unset',
    {
      method: 'PATCH',
      url: VARIABLES_URL,
      payload: { set: { GOOD_ONE: '1' }, unset: ['EXISTING', 'bad key'] },
      field: 'unset.1',
    },
  ],
  ['setting PORT', { method: 'PATCH', url: VARIABLES_URL, payload: { set: { PORT: '8080' } }, field: 'set.PORT' }],
  ['setting PIER_X', { method: 'PATCH', url: VARIABLES_URL, payload: { set: { PIER_X: '1' } }, field: 'set.PIER_X' }],
  [
    'a batch that sets PORT among good keys',
    { method: 'PATCH', url: VARIABLES_URL, payload: { set: { GOOD_ONE: '1', PORT: '80', GOOD_TWO: '2' } }, field: 'set.PORT' },
  ],
  [
    'a batch that sets PIER_ among good keys and unsets another',
    {
      method: 'PATCH',
      url: VARIABLES_URL,
      payload: { set: { GOOD_ONE: '1', PIER_APP: 'x' }, unset: ['EXISTING'] },
      field: 'set.PIER_APP',
    },
  ],
  [
    'set and unset of the same key',
    {
      method: 'PATCH',
      url: VARIABLES_URL,
      payload: { set: { EXISTING: 'new', OTHER: '1' }, unset: ['EXISTING'] },
      field: 'unset',
    },
  ],
  [
    'more than 500 variables at once',
    {
      method: 'PATCH',
      url: VARIABLES_URL,
      payload: { set: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`KEY_${i}`, 'v'])) },
      field: 'body',
    },
  ],
  [
    'a branch that is an option',
    { method: 'POST', url: '/apps', payload: { name: 'ok', defaultBranch: '--upload-pack=id' }, field: 'body.defaultBranch' },
  ],
  ['a branch with ..', { method: 'PATCH', url: '/apps/web', payload: { defaultBranch: 'a..b' }, field: 'body.defaultBranch' }],
  [
    'a Dockerfile path outside the repository',
    { method: 'POST', url: '/apps', payload: { name: 'ok', dockerfilePath: '../../etc/passwd' }, field: 'body.dockerfilePath' },
  ],
  [
    'an absolute Dockerfile path',
    { method: 'PATCH', url: '/apps/web', payload: { dockerfilePath: '/etc/passwd' }, field: 'body.dockerfilePath' },
  ],
  [
    'a pier.json path outside the repository',
    { method: 'PATCH', url: '/apps/web', payload: { configPath: '../pier.json' }, field: 'body.configPath' },
  ],
  [
    'a clone URL that is an option',
    {
      method: 'POST',
      url: '/apps',
      payload: { name: 'ok', repository: { fullName: 'a/b', cloneUrl: '-oProxyCommand=id' } },
      field: 'body.repository.cloneUrl',
    },
  ],
  [
    'a clone URL using the ext transport',
    {
      method: 'POST',
      url: '/apps',
      payload: { name: 'ok', repository: { fullName: 'a/b', cloneUrl: 'ext::sh -c id' } },
      field: 'body.repository.cloneUrl',
    },
  ],
  [
    'a repository name without an owner',
    {
      method: 'PATCH',
      url: '/apps/web',
      payload: { repository: { fullName: 'b', cloneUrl: 'https://example.invalid/a/b.git' } },
      field: 'body.repository.fullName',
    },
  ],
  [
    'a tag pattern that is an option',
    { method: 'PATCH', url: '/apps/web/environments/preview', payload: { tagPattern: '-v*' }, field: 'body.tagPattern' },
  ],
  [
    'a branch with a shell character',
    { method: 'POST', url: '/apps/web/environments', payload: { name: 'qa', branch: 'main;id' }, field: 'body.branch' },
  ],
  [
    'a health check path that is not a path',
    {
      method: 'PATCH',
      url: '/apps/web/environments/preview',
      payload: { healthCheck: { path: 'health' } },
      field: 'body.healthCheck.path',
    },
  ],
  ['21 replicas', { method: 'PATCH', url: '/apps/web/environments/preview', payload: { replicas: 21 }, field: 'body.replicas' }],
  ['-1 replicas', { method: 'PATCH', url: '/apps/web/environments/preview', payload: { replicas: -1 }, field: 'body.replicas' }],
  ['a token name with a newline', { method: 'POST', url: '/tokens', payload: { name: 'ci\nadmin' }, field: 'body.name' }],
  ['a token for a bad app name', { method: 'POST', url: '/tokens', payload: { name: 'ci', app: '../web' }, field: 'body.app' }],
  ['a token id longer than an id', { method: 'DELETE', url: `/tokens/${'a'.repeat(65)}`, field: 'path.id' }],
];

describe('bad input is refused and changes nothing', () => {
  it.each(CASES)('%s', async (_, { method, url, payload, field, status = 422 }) => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method, url, payload: payload as object });
    expectError(res, status, 'validation_failed', field);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('accepts app names up to 48 characters, so that every generated hostname label fits in 63', async () => {
    const name = `a${'-b'.repeat(23)}c`;
    expect(name).toHaveLength(48);
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
    expect((await api.request({ method: 'GET', url: `/apps/${name}` })).statusCode).toBe(200);
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'POST', url: '/apps', payload: { name: `${name}d` } });
    expectError(res, 422, 'validation_failed', 'body.name');
    expect(res.json().error.message).toContain('at most 48 characters');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it.each(['svc', 'svc-shop', 'verify', 'restore-db'])(
    'refuses the app name %s, which Pier keeps for its own containers',
    async (name) => {
      const before = await snapshotState(api.database.sql);
      const res = await api.request({ method: 'POST', url: '/apps', payload: { name } });
      expectError(res, 422, 'validation_failed', 'Pier names its own containers and networks so');
      expect(await snapshotState(api.database.sql)).toEqual(before);
    },
  );

  it('accepts app names that only look like a kept one', async () => {
    for (const name of ['svcs', 'services', 'my-svc']) {
      expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
    }
  });

  it('refuses an environment whose <app>-<env> hostname label would pass 63 characters, naming the limit', async () => {
    const app = `lbl${'x'.repeat(17)}`; // 20 characters: environments get at most 42
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name: app } })).statusCode).toBe(201);
    const fits = `e${'y'.repeat(41)}`;
    const created = await api.request({ method: 'POST', url: `/apps/${app}/environments`, payload: { name: fits } });
    expect(created.statusCode, created.body).toBe(201);
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'POST', url: `/apps/${app}/environments`, payload: { name: `${fits}z` } });
    expectError(res, 422, 'validation_failed', 'body.name');
    expect(res.json().error.message).toContain('at most 42');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('refuses a URL that is not valid percent-encoding in the one error shape', async () => {
    const res = await api.request({ method: 'GET', url: '/apps/%E0%A4%A' });
    expectError(res, 400, 'bad_request', 'path');
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('refuses an absurdly long path segment in the one error shape', async () => {
    const res = await api.request({ method: 'GET', url: `/apps/${'a'.repeat(2000)}` });
    expectError(res, 414, 'uri_too_long', 'path');
  });

  it('sets, lists and deletes a variable with the longest allowed key, 255 characters', async () => {
    const key = 'K'.repeat(255);
    const url = '/apps/web/environments/staging/variables';
    expect((await api.request({ method: 'PATCH', url, payload: { set: { [key]: 'v' } } })).statusCode).toBe(200);
    expect((await api.request({ method: 'GET', url })).json().variables.map((v: { key: string }) => v.key)).toEqual([key]);
    expect((await api.request({ method: 'DELETE', url: `${url}/${key}` })).statusCode).toBe(204);
  });

  it('left the environment’s variables and config version as they were', async () => {
    const { variables } = (await api.request({ method: 'GET', url: `${VARIABLES_URL}?reveal=true` })).json();
    expect(variables.map((v: { key: string; value: string }) => [v.key, v.value])).toEqual([['EXISTING', 'keep me']]);
    const env = (await api.request({ method: 'GET', url: '/apps/web/environments/preview' })).json();
    expect(env.configVersion).toBe(1);
  });
});
