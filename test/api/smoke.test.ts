import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(async () => api.close());

describe('smoke', () => {
  it('creates an app with production and staging', async () => {
    const res = await api.request({ method: 'POST', url: '/apps', payload: { name: 'web' } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.environments.map((e: { name: string }) => e.name)).toEqual(['production', 'staging']);
  });
});
