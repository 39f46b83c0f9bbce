import { describe, expect, it } from 'vitest';
import { processEnvironment } from '../../scripts/supervisor/process-env.ts';

const env = {
  PATH: '/usr/bin',
  DATABASE_URL: 'postgres://pier:owner@127.0.0.1/pier',
  PIER_PROXY_DATABASE_URL: 'postgres://pier_proxy:proxy@127.0.0.1/pier',
  PIER_SECRET_KEY: 'secret',
  PIER_SECRET_KEYS_PREVIOUS: 'old',
  PIER_ADMIN_TOKEN: 'token',
  PIER_PROXY_KEY: 'proxy-key',
};

describe('processEnvironment', () => {
  it('gives the proxy its own key and database role, and neither PIER_SECRET_KEY nor the admin token', () => {
    expect(processEnvironment('proxy', env)).toEqual({
      PATH: '/usr/bin',
      DATABASE_URL: 'postgres://pier_proxy:proxy@127.0.0.1/pier',
      PIER_PROXY_DATABASE_URL: 'postgres://pier_proxy:proxy@127.0.0.1/pier',
      PIER_PROXY_KEY: 'proxy-key',
    });
  });

  it('keeps the proxy on DATABASE_URL when it has no role of its own', () => {
    const { PIER_PROXY_DATABASE_URL: _, ...withoutRole } = env;
    expect(processEnvironment('proxy', withoutRole).DATABASE_URL).toBe(env.DATABASE_URL);
  });

  it("gives the api everything but the proxy's key and role", () => {
    expect(processEnvironment('api', env)).toEqual({
      PATH: '/usr/bin',
      DATABASE_URL: env.DATABASE_URL,
      PIER_SECRET_KEY: 'secret',
      PIER_SECRET_KEYS_PREVIOUS: 'old',
      PIER_ADMIN_TOKEN: 'token',
    });
  });

  it('gives the worker everything (it seals for the proxy and holds the secret key)', () => {
    expect(processEnvironment('worker', env)).toEqual(env);
  });
});
