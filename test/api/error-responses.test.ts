import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
  await api.request({ method: 'POST', url: '/apps', payload: { name: 'web' } });
  await api.request({ method: 'POST', url: '/apps/web/environments', payload: { name: 'preview' } });
});
afterAll(async () => api.close());

const VARIABLES_URL = '/apps/web/environments/preview/variables';
const json = { 'content-type': 'application/json' };

describe('malformed bodies', () => {
  it.each([
    ['a trailing comma', '{"name": "web",}'],
    ['a truncated object', '{"name": "we'],
    ['bare words', 'name=web'],
    ['single quotes', "{'name': 'web'}"],
  ])('answers 400 invalid_json to %s', async (_, payload) => {
    expectError(await api.request({ method: 'POST', url: '/apps', payload, headers: json }), 400, 'invalid_json', 'body');
  });

  it('treats an empty JSON body as no body: 422 naming the body where one is required', async () => {
    expectError(
      await api.request({ method: 'POST', url: '/apps', payload: '', headers: json }),
      422,
      'validation_failed',
      'body',
    );
  });

  it('lets a DELETE through when the client sends Content-Type: application/json without a body', async () => {
    await api.request({ method: 'POST', url: '/apps', payload: { name: 'empty-body-delete' } });
    const res = await api.request({ method: 'DELETE', url: '/apps/empty-body-delete', headers: json });
    expect(res.statusCode).toBe(202);
  });

  it('does not echo a malformed body, which may hold a secret, in the error', async () => {
    const payload = '{"set": {"API_KEY": "sk-live-0123456789"},}';
    const res = await api.request({ method: 'PATCH', url: VARIABLES_URL, payload, headers: json });
    expectError(res, 400, 'invalid_json');
    expect(res.body).not.toContain('sk-live');
  });

  it.each([
    ['text/plain', 'name=web'],
    ['text/plain; charset=utf-8', '{"name":"web"}'],
    ['application/xml', '<app><name>web</name></app>'],
    ['application/x-www-form-urlencoded', 'name=web'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nweb\r\n--x--'],
  ])('answers 415 to a %s body', async (contentType, payload) => {
    const before = await snapshotState(api.database.sql);
    for (const [method, url] of [
      ['POST', '/apps'],
      ['PATCH', VARIABLES_URL],
    ] as const) {
      const res = await api.request({ method, url, payload, headers: { 'content-type': contentType } });
      expectError(res, 415, 'unsupported_media_type', 'application/json');
    }
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('answers 415 to a body without a content type', async () => {
    expectError(await api.request({ method: 'POST', url: '/apps', payload: 'web' }), 415, 'unsupported_media_type');
  });

  it('accepts application/json with a charset', async () => {
    const res = await api.request({
      method: 'POST',
      url: '/apps',
      payload: '{"name":"charset"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.statusCode).toBe(201);
  });
});

describe('body size', () => {
  it('answers 413 payload_too_large to a body over 2 MiB and changes nothing', async () => {
    const before = await snapshotState(api.database.sql);
    const payload = JSON.stringify({ set: { BIG: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await api.request({ method: 'PATCH', url: VARIABLES_URL, payload, headers: json });
    expectError(res, 413, 'payload_too_large');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('reads a body just under 2 MiB (and refuses the value for its size instead)', async () => {
    const payload = JSON.stringify({ set: { BIG: 'x'.repeat(2 * 1024 * 1024 - 100) } });
    const res = await api.request({ method: 'PATCH', url: VARIABLES_URL, payload, headers: json });
    expectError(res, 422, 'validation_failed', 'body.set.BIG');
  });
});

describe('validation', () => {
  it.each([
    ['a number for a string', 'POST', '/apps', { name: 123 }, 'body.name: Invalid input: expected string, received number'],
    ['null for a string', 'POST', '/apps', { name: null }, 'body.name: Invalid input: expected string, received null'],
    ['a missing field', 'POST', '/apps', {}, 'body.name: is required'],
    ['an array for the body', 'POST', '/apps', [], 'body: Invalid input: expected object, received array'],
    ['a string for an object', 'POST', '/apps', { name: 'x', repository: 'a/b' }, 'body.repository: Invalid input'],
    ['a string for a number', 'PATCH', '/apps/web/environments/preview', { replicas: '2' }, 'body.replicas: Invalid input'],
    ['a fraction for an integer', 'PATCH', '/apps/web/environments/preview', { replicas: 1.5 }, 'body.replicas'],
    ['a number for a value', 'PATCH', VARIABLES_URL, { set: { KEY: 5 } }, 'body.set.KEY: Invalid input'],
    ['a string for a list', 'PATCH', VARIABLES_URL, { unset: 'KEY' }, 'body.unset: Invalid input'],
    ['a bad query value', 'GET', `${VARIABLES_URL}?reveal=yes`, undefined, 'query.reveal'],
  ])('answers 422 validation_failed to %s', async (_, method, url, payload, message) => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: method as 'GET', url, payload: payload as object });
    expectError(res, 422, 'validation_failed', message);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('names every offending field in one message', async () => {
    const res = await api.request({
      method: 'PATCH',
      url: '/apps/web/environments/preview',
      payload: { replicas: 99, healthCheck: { intervalMs: 1 } },
    });
    const message = expectError(res, 422, 'validation_failed');
    expect(message).toContain('body.replicas');
    expect(message).toContain('body.healthCheck.intervalMs');
  });

  it.each([
    ['POST', '/apps', { name: 'x', colour: 'red' }, 'body: unknown field colour'],
    ['POST', '/apps', { name: 'x', repository: { fullName: 'a/b', cloneUrl: 'https://h/a/b', token: 't' } }, 'token'],
    ['PATCH', '/apps/web', { defaultBranch: 'main', owner: 'me' }, 'body: unknown field owner'],
    ['POST', '/apps/web/environments', { name: 'qa', domain: 'x.example' }, 'body: unknown field domain'],
    ['PATCH', '/apps/web/environments/preview', { healthCheck: { port: 8080 } }, 'body.healthCheck: unknown field port'],
    ['PATCH', VARIABLES_URL, { set: { A: 'b' }, replace: true }, 'body: unknown field replace'],
    ['POST', '/tokens', { name: 'x', scopes: ['all'] }, 'body: unknown field scopes'],
    ['GET', `${VARIABLES_URL}?reveal=true&decrypt=1`, undefined, 'decrypt'],
  ])('answers 422 to an unknown field: %s %s', async (method, url, payload, message) => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: method as 'GET', url, payload });
    expectError(res, 422, 'validation_failed', message);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it.each([
    ['PATCH', '/apps/web', {}],
    ['PATCH', '/apps/web/environments/preview', {}],
    ['PATCH', VARIABLES_URL, {}],
    ['PATCH', VARIABLES_URL, { set: {}, unset: [] }],
  ])('answers 422 to %s %s with nothing to change', async (method, url, payload) => {
    expectError(await api.request({ method: method as 'PATCH', url, payload }), 422, 'validation_failed', 'body');
  });
});

describe('conflicts and missing objects', () => {
  it('answers 409 conflict to a duplicate app name', async () => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'POST', url: '/apps', payload: { name: 'web' } });
    expectError(res, 409, 'conflict', 'web');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('creates an app once when the same name is sent concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, () => api.request({ method: 'POST', url: '/apps', payload: { name: 'race' } })),
    );
    expect(results.map((res) => res.statusCode).sort()).toEqual([201, 409, 409, 409]);
    for (const res of results.filter((r) => r.statusCode === 409)) expectError(res, 409, 'conflict', 'race');
  });

  it('answers 409 conflict to a duplicate environment name', async () => {
    for (const name of ['preview', 'production', 'staging']) {
      const res = await api.request({ method: 'POST', url: '/apps/web/environments', payload: { name } });
      expectError(res, 409, 'conflict', name);
    }
  });

  it('answers 409 conflict to deleting production, which stays', async () => {
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'DELETE', url: '/apps/web/environments/production' });
    expectError(res, 409, 'conflict', 'production');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it.each([
    ['GET', '/apps/ghost', 'app ghost'],
    ['PATCH', '/apps/ghost', 'app ghost', { defaultBranch: 'main' }],
    ['DELETE', '/apps/ghost', 'app ghost'],
    ['GET', '/apps/ghost/environments', 'app ghost'],
    ['POST', '/apps/ghost/environments', 'app ghost', { name: 'qa' }],
    ['GET', '/apps/ghost/environments/production', 'app ghost'],
    ['GET', '/apps/web/environments/ghost', 'environment ghost'],
    ['PATCH', '/apps/web/environments/ghost', 'environment ghost', { replicas: 2 }],
    ['DELETE', '/apps/web/environments/ghost', 'environment ghost'],
    ['GET', '/apps/web/environments/ghost/variables', 'environment ghost'],
    ['PATCH', '/apps/web/environments/ghost/variables', 'environment ghost', { set: { A: 'b' } }],
    ['DELETE', '/apps/web/environments/ghost/variables/A', 'environment ghost'],
    ['DELETE', '/apps/web/environments/preview/variables/GHOST', 'variable GHOST'],
    ['DELETE', '/tokens/00000000-0000-4000-8000-000000000000', 'token 00000000-0000-4000-8000-000000000000'],
    ['DELETE', '/tokens/ghost', 'token ghost'],
    ['GET', '/no-such-route', 'no route GET /no-such-route'],
  ])('answers 404 not_found to %s %s', async (method, url, message, payload?: object) => {
    const before = await snapshotState(api.database.sql);
    expectError(await api.request({ method: method as 'GET', url, payload }), 404, 'not_found', message);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });
});
