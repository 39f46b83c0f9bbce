import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(async () => api.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('/health and /ready', () => {
  it('answers /health with 200 without a token', async () => {
    const res = await api.request({ method: 'GET', url: '/health', token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('ignores a bad token on /health', async () => {
    const res = await api.request({ method: 'GET', url: '/health', token: 'pier_not-a-real-token' });
    expect(res.statusCode).toBe(200);
  });

  it('answers /ready with 200 when Postgres and Redis answer', async () => {
    const res = await api.request({ method: 'GET', url: '/ready', token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });

  describe('with Redis unreachable', () => {
    let broken: TestApi;
    beforeAll(async () => {
      broken = await createTestApi({ redisUrl: 'redis://127.0.0.1:1' });
    });
    afterAll(async () => broken.close());

    it('answers /ready with 503 and says which check failed', async () => {
      const started = Date.now();
      const res = await broken.request({ method: 'GET', url: '/ready', token: null });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        status: 'unavailable',
        checks: { postgres: 'ok', redis: 'unreachable' },
      });
      expect(res.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|:1\b|connect/);
      const logged = broken.logs.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'readiness check failed');
      expect(logged).toMatchObject({ check: 'redis', err: expect.objectContaining({ message: expect.any(String) }) });
    });

    it('still answers /health with 200: the process is alive', async () => {
      expect((await broken.request({ method: 'GET', url: '/health', token: null })).statusCode).toBe(200);
    });
  });
});

describe('/openapi.json', () => {
  let document: any;
  beforeAll(async () => {
    const res = await api.request({ method: 'GET', url: '/openapi.json', token: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    document = res.json();
  });

  it('is an OpenAPI 3 document with bearer security', () => {
    expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(document.info).toEqual({ title: 'Pier API', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(document.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(document.security).toEqual([{ bearer: [] }]);
  });

  it('lists the routes', () => {
    const operations = Object.entries(document.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /ready',
        'POST /apps',
        'GET /apps',
        'GET /apps/{app}',
        'PATCH /apps/{app}',
        'DELETE /apps/{app}',
        'GET /apps/{app}/environments',
        'POST /apps/{app}/environments',
        'GET /apps/{app}/environments/{env}',
        'PATCH /apps/{app}/environments/{env}',
        'DELETE /apps/{app}/environments/{env}',
        'GET /apps/{app}/environments/{env}/variables',
        'PATCH /apps/{app}/environments/{env}/variables',
        'DELETE /apps/{app}/environments/{env}/variables/{key}',
        'POST /tokens',
        'GET /tokens',
        'DELETE /tokens/{id}',
      ]),
    );
  });

  it('describes each operation: summary, path parameters, body and responses', () => {
    for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, where).toEqual(expect.any(String));
        expect(op.tags, where).toHaveLength(1);
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = op.parameters.filter((p: { in: string }) => p.in === 'path');
        expect(declared.map((p: { name: string }) => p.name).sort(), where).toEqual(pathParams.sort());
        for (const p of declared) expect(p.required, where).toBe(true);
        expect(op.responses.default.content['application/json'].schema, where).toEqual({ $ref: '#/components/schemas/Error' });
        if (op.requestBody) expect(op.requestBody.content['application/json'].schema, where).toEqual(expect.any(Object));
      }
    }
  });

  it('marks /health and /ready as open and the rest as needing a token', () => {
    // auth.test.ts checks that every route really answers 401 without one.
    expect(document.paths['/health'].get.security).toEqual([]);
    expect(document.paths['/ready'].get.security).toEqual([]);
    expect(document.paths['/apps'].post.security).toBeUndefined();
    expect(document.paths['/tokens'].get.security).toBeUndefined();
  });

  it('documents every success status a route answers with', () => {
    const remove = document.paths['/apps/{app}'].delete.responses;
    expect(Object.keys(remove).sort()).toEqual(['200', '202', 'default']);
    expect(remove['202'].description).toContain('had not reported within `wait` seconds');
    expect(remove['202'].content).toEqual(remove['200'].content);
  });

  it('says that skipChecks changes nothing for a promotion (it never waits for checks)', () => {
    const promote = document.paths['/apps/{app}/environments/{env}/promote'].post.requestBody.content['application/json'].schema;
    expect(promote.properties.skipChecks.description).toMatch(/^changes nothing: a promotion .* never waits for GitHub’s checks/);
  });

  it('documents request bodies from the validating schemas', () => {
    for (const [path, method] of [
      ['/apps', 'post'],
      ['/apps/{app}', 'patch'],
      ['/apps/{app}/environments', 'post'],
      ['/apps/{app}/environments/{env}', 'patch'],
      ['/apps/{app}/environments/{env}/variables', 'patch'],
      ['/tokens', 'post'],
    ] as const) {
      expect(document.paths[path][method].requestBody, `${method} ${path}`).toBeDefined();
    }
    const createApp = document.paths['/apps'].post.requestBody.content['application/json'].schema;
    expect(createApp.required).toEqual(['name']);
    expect(Object.keys(createApp.properties).sort()).toEqual([
      'configPath',
      'defaultBranch',
      'dockerfilePath',
      'name',
      'repository',
    ]);
    expect(createApp.additionalProperties).toBe(false);
  });
});

describe('x-request-id', () => {
  it('is on every response, success or error', async () => {
    const responses = [
      await api.request({ method: 'GET', url: '/health', token: null }),
      await api.request({ method: 'GET', url: '/apps' }),
      await api.request({ method: 'GET', url: '/apps', token: null }),
      await api.request({ method: 'GET', url: '/apps/missing' }),
      await api.request({ method: 'GET', url: '/no-such-route' }),
      await api.request({ method: 'POST', url: '/apps', payload: { name: 'Bad' } }),
    ];
    const ids = responses.map((res) => res.headers['x-request-id']);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(['abc-123', 'trace:0af7651916cd43dd8448eb211c80319c', 'a.b_c', 'x'.repeat(128)])('echoes a safe id %s', async (id) => {
    const res = await api.request({ method: 'GET', url: '/health', token: null, headers: { 'x-request-id': id } });
    expect(res.headers['x-request-id']).toBe(id);
  });

  it('echoes a safe id on an error response and logs it', async () => {
    const id = 'req-error-42';
    const res = await api.request({ method: 'GET', url: '/apps', token: null, headers: { 'x-request-id': id } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-request-id']).toBe(id);
    expect(api.logs.some((line) => JSON.parse(line).reqId === id)).toBe(true);
  });

  it.each([
    ['a space', 'a b'],
    ['a quote', 'a"b'],
    ['an injection attempt', '<script>alert(1)</script>'],
    ['an empty value', ''],
    ['over 128 characters', 'x'.repeat(129)],
    ['non-ASCII', 'ïd'],
  ])('replaces an id with %s', async (_, id) => {
    const res = await api.request({ method: 'GET', url: '/health', token: null, headers: { 'x-request-id': id } });
    expect(res.headers['x-request-id']).toMatch(UUID);
  });
});
