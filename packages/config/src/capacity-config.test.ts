import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capacityPolicyFrom } from './capacity-config.ts';
import { ConfigError, parseConfig } from './load-config.ts';
import { apiConfigSchema, workerConfigSchema } from './schemas.ts';

const base = {
  DATABASE_URL: 'postgres://pier:pw@127.0.0.1:5432/pier',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  PIER_SECRET_KEY: randomBytes(32).toString('base64'),
  PIER_PROXY_KEY: randomBytes(32).toString('base64'),
  PIER_BASE_DOMAIN: 'example.com',
  PIER_ADMIN_TOKEN: randomBytes(32).toString('hex'),
};
const policy = (env: Record<string, string>) => capacityPolicyFrom(parseConfig('api', apiConfigSchema, { ...base, ...env }));

describe('capacity settings', () => {
  it.each<[string, Record<string, string>, ReturnType<typeof capacityPolicyFrom>]>([
    ['defaults: no overcommit, the default reserve', {}, { overcommit: 1, reserveBytes: null }],
    [
      'overcommit 1.5 and a reserve',
      { PIER_CAPACITY_OVERCOMMIT: '1.5', PIER_CAPACITY_RESERVE_MB: '2048' },
      { overcommit: 1.5, reserveBytes: 2048 * 1024 * 1024 },
    ],
    ['off turns the guard off', { PIER_CAPACITY_OVERCOMMIT: 'off' }, { overcommit: null, reserveBytes: null }],
    ['an empty reserve is the default', { PIER_CAPACITY_RESERVE_MB: '' }, { overcommit: 1, reserveBytes: null }],
  ])('%s', (_, env, expected) => {
    expect(policy(env)).toEqual(expected);
  });

  it.each([['0'], ['-1'], ['lots'], ['1000']])('refuses PIER_CAPACITY_OVERCOMMIT=%s, naming it', (value) => {
    expect(() => policy({ PIER_CAPACITY_OVERCOMMIT: value })).toThrow(ConfigError);
    expect(() => policy({ PIER_CAPACITY_OVERCOMMIT: value })).toThrow(
      /PIER_CAPACITY_OVERCOMMIT: must be a ratio from 0.1 to 100/,
    );
  });

  it('refuses a reserve that is not a whole number of MiB', () => {
    expect(() => policy({ PIER_CAPACITY_RESERVE_MB: '1.5' })).toThrow(/PIER_CAPACITY_RESERVE_MB: must be a whole number of MiB/);
  });

  it('the worker reads the same settings, and PIER_BUILD_MEMORY_MB as before', () => {
    const config = parseConfig('worker', workerConfigSchema, {
      ...base,
      PIER_CAPACITY_OVERCOMMIT: '2',
      PIER_BUILD_MEMORY_MB: '1024',
    });
    expect(capacityPolicyFrom(config)).toEqual({ overcommit: 2, reserveBytes: null });
    expect(config.PIER_BUILD_MEMORY_MB).toBe(1024);
  });
});
