import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { snapshotState } from '../support/api-state.ts';

/** The only routes answered without a token (the dashboard's files and its sign-in, which checks the token itself). */
const OPEN_ROUTES = [
  'GET /health',
  'GET /ready',
  'GET /version',
  'GET /cli',
  'GET /openapi.json',
  'GET /schemas/pier.json',
  'GET /',
  'GET /assets/{file}',
  'POST /session',
  'GET /session',
  'DELETE /session',
];
/** Routes that answer a stream that never ends by itself: their own tests read them (test/dashboard/changes-static.test.ts). */
const ENDLESS_STREAMS = ['GET /changes'];
/** Routes that take no token because the caller signs the request instead; each is checked below. */
const SIGNED_ROUTES = ['POST /webhooks/github'];

interface Operation {
  /** e.g. `PATCH /apps/{app}`, as in the OpenAPI document. */
  name: string;
  method: string;
  url: string;
}

let api: TestApi;
let document: { paths: Record<string, Record<string, unknown>> };
let operations: Operation[];
let revokedToken: string;

beforeAll(async () => {
  api = await createTestApi();
  const repository = { fullName: 'acme/web', cloneUrl: 'https://git.example.invalid/acme/web.git' };
  await api.request({ method: 'POST', url: '/apps', payload: { name: 'web', repository } });
  const deployment = await api.request({ method: 'POST', url: '/apps/web/environments/production/deployments', payload: {} });
  expect(deployment.statusCode).toBe(202);
  await api.request({
    method: 'PATCH',
    url: '/apps/web/environments/production/variables',
    payload: { set: { KEY: 'value' } },
  });
  const live = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'live' } })).json();
  const revoked = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'revoked' } })).json();
  await api.request({ method: 'DELETE', url: `/tokens/${revoked.id}` });
  revokedToken = revoked.token;
  expect(
    (await api.request({ method: 'POST', url: '/services', payload: { type: 'postgres', name: 'orders' } })).statusCode,
  ).toBe(202);
  await api.database.sql`update managed_services set state = 'ready' where name = 'orders'`;
  const link = await api.request({
    method: 'POST',
    url: '/apps/web/environments/production/links',
    payload: { service: 'orders' },
  });
  expect(link.statusCode).toBe(201);
  const backup = await api.request({ method: 'POST', url: '/services/orders/backups' });
  expect(backup.statusCode).toBe(202);
  const domain = await api.request({
    method: 'POST',
    url: '/apps/web/environments/production/domains',
    payload: { hostname: 'www.example.com' },
  });
  expect(domain.statusCode).toBe(201);
  const credentials = await api.request({
    method: 'PUT',
    url: '/apps/web/registry-credentials',
    payload: { server: 'registry.example.invalid', username: 'ci', password: 'not-a-real-password' },
  });
  expect(credentials.statusCode, credentials.body).toBe(204);
  const volume = await api.request({
    method: 'POST',
    url: '/apps/web/environments/production/volumes',
    payload: { name: 'data', mountPath: '/data' },
  });
  expect(volume.statusCode, volume.body).toBe(201);
  const drain = await api.request({
    method: 'POST',
    url: '/apps/web/drains',
    payload: { name: 'archive', url: 'syslog+tls://logs.example.com:6514' },
  });
  expect(drain.statusCode, drain.body).toBe(201);
  const cron = await api.request({
    method: 'PUT',
    url: '/apps/web/environments/production/cron/nightly',
    payload: { schedule: '0 3 * * *', command: 'true' },
  });
  expect(cron.statusCode, cron.body).toBeLessThan(300);
  // Notification channels named like the cron job, so that `{name}` finds one under an app and on the host.
  for (const url of ['/apps/web/notifications', '/notifications']) {
    const channel = await api.request({
      method: 'POST',
      url,
      payload: { name: 'nightly', kind: 'slack', url: 'https://hooks.example.com/services/x' },
    });
    expect(channel.statusCode, channel.body).toBe(201);
  }
  // A run that ended, as a worker leaves one (starting one needs a live release, which this app has not): its
  // output is history, not a stream that waits.
  const [run] = await api.database.sql<{ id: string }[]>`
    insert into runs (app_id, environment_id, kind, command, timeout_seconds, started_by, state, exit_code, finished_at)
    select a.id, e.id, 'run', '"true"'::jsonb, 60, 'test', 'succeeded', 0, now()
    from apps a join environments e on e.app_id = a.id
    where a.name = 'web' and e.name = 'production' returning id`;

  // Real values, so that a route is refused for the token and not for a bad path.
  const pathValues: Record<string, string> = {
    '{app}': 'web',
    '{env}': 'production',
    '{key}': 'KEY',
    '/tokens/{id}': live.id,
    '/deployments/{id}': deployment.json().id,
    '{service}': 'orders',
    '{backup}': backup.json().id,
    '{hostname}': 'www.example.com',
    '{volume}': 'data',
    '{drain}': 'archive',
    '{type}': 'web',
    '{name}': 'nightly',
    '{run}': run?.id ?? '',
    '{file}': 'main.js',
  };
  document = (await api.request({ method: 'GET', url: '/openapi.json', token: null })).json();
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({
      name: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      url: path.replace(/(\/[^/]+\/)?\{(\w+)\}/g, (whole, parent: string | undefined, param: string) => {
        const value = pathValues[whole] ?? pathValues[`{${param}}`];
        if (value === undefined) throw new Error(`auth.test.ts: give a real value for {${param}} in ${path}`);
        return `${parent ?? ''}${value}`;
      }),
    })),
  );
  operations = operations.filter((op) => !OPEN_ROUTES.includes(op.name) && !SIGNED_ROUTES.includes(op.name));
});
afterAll(async () => api.close());

/** A body for routes that take one: the token must be refused before the body is looked at. */
function payloadFor(op: Operation) {
  return ['POST', 'PUT', 'PATCH'].includes(op.method) ? { name: 'sneaky', set: { SNEAKY: 'x' } } : undefined;
}

type Credentials = { label: string; authorization: () => string | undefined };

const CREDENTIALS: Credentials[] = [
  { label: 'no Authorization header', authorization: () => undefined },
  { label: 'an empty Authorization header', authorization: () => '' },
  { label: 'Basic credentials', authorization: () => `Basic ${Buffer.from('admin:admin').toString('base64')}` },
  { label: '"Bearer" without a token', authorization: () => 'Bearer' },
  { label: 'a token with a space in it', authorization: () => `Bearer ${api.adminToken} x` },
  { label: 'the admin token without a scheme', authorization: () => api.adminToken },
  { label: 'the admin token under another scheme', authorization: () => `Token ${api.adminToken}` },
  { label: 'an unknown pier_ token', authorization: () => `Bearer pier_${randomBytes(32).toString('base64url')}` },
  { label: 'a revoked token', authorization: () => `Bearer ${revokedToken}` },
];

describe('authentication on every route', () => {
  it('checks every operation of the document except the open ones', () => {
    expect(operations.length).toBeGreaterThanOrEqual(14);
    expect(operations.map((op) => op.name)).toEqual(expect.arrayContaining(['POST /apps', 'DELETE /tokens/{id}']));
  });

  it('lists every registered route in /openapi.json, so the checks below miss none', () => {
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(registeredRoutes(api.app).sort()).toEqual([...documented, 'GET /openapi.json'].sort());
  });

  it('refuses an unsigned or wrongly signed GitHub webhook', async () => {
    const before = await snapshotState(api.database.sql);
    const payload = { ref: 'refs/heads/main', repository: { full_name: 'acme/web' } };
    for (const signature of [undefined, 'sha256=', `sha256=${'0'.repeat(64)}`, api.adminToken]) {
      const res = await api.request({
        method: 'POST',
        url: '/webhooks/github',
        payload,
        token: null,
        headers: {
          'x-github-event': 'push',
          'x-github-delivery': randomBytes(8).toString('hex'),
          ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }),
        },
      });
      expect({ signature, status: res.statusCode, code: res.json().error?.code }).toEqual({
        signature,
        status: 401,
        code: 'unauthorized',
      });
    }
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it.each(CREDENTIALS)('answers 401 unauthorized to $label', async ({ authorization }) => {
    const before = await snapshotState(api.database.sql);
    const failures: string[] = [];
    for (const op of operations) {
      const header = authorization();
      const res = await api.request({
        method: op.method as 'GET',
        url: op.url,
        payload: payloadFor(op),
        token: null,
        headers: header === undefined ? {} : { authorization: header },
      });
      const body = res.json();
      const ok =
        res.statusCode === 401 &&
        body?.error?.code === 'unauthorized' &&
        typeof body.error.message === 'string' &&
        Object.keys(body).length === 1 &&
        res.headers['www-authenticate'] === 'Bearer';
      if (!ok) failures.push(`${op.name}: ${res.statusCode} ${res.body}`);
    }
    expect(failures).toEqual([]);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('lets the same requests through with a valid token', async () => {
    // Deletes last, deepest first, so each one still finds what it deletes.
    const ordered = [...operations].sort(
      (a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE') || b.url.length - a.url.length,
    );
    const failures: string[] = [];
    for (const op of ordered.filter((o) => !ENDLESS_STREAMS.includes(o.name))) {
      const res = await api.request({ method: op.method as 'GET', url: op.url, payload: payloadFor(op) });
      if (res.statusCode === 401 || res.statusCode === 404) failures.push(`${op.name}: ${res.statusCode} ${res.body}`);
    }
    expect(failures).toEqual([]);
  });

  it('does not ask for a token on /health, /ready, /version, /openapi.json and /schemas/pier.json', async () => {
    for (const url of ['/health', '/ready', '/version', '/openapi.json', '/schemas/pier.json']) {
      const res = await api.request({ method: 'GET', url, token: null });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
    }
  });
});

/** `METHOD /path/:param` of every route fastify serves, read from its route tree (HEAD mirrors GET). */
function registeredRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const segments: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    // A segment may not begin with `/`: `/run` and `/runs` print as `/run` with a child `s`.
    const match = /^([│├└─\s]*)([^\s│├└─]\S*)(?: \(([^)]+)\))?$/.exec(line);
    if (!match) continue;
    const [, indent = '', segment = '', methods = ''] = match;
    segments.length = indent.length / 4 - 1;
    segments.push(segment);
    for (const method of methods.split(', ').filter((m) => m && m !== 'HEAD')) routes.push(`${method} ${segments.join('')}`);
  }
  return routes;
}
