import { describe, expect, it } from 'vitest';
import { REDIS_AUTH_FILE, redisAuthConfig, serviceContainerSpec, verifyContainerSpec } from './service-spec.ts';

const redis = {
  id: '0b9c5d0e-1111-2222-3333-444455556666',
  name: 'cache',
  type: 'redis' as const,
  image: 'redis:7',
  volumeName: 'v',
};
const credentials = { user: 'default', password: 'pA55@w:rd/#%+&=', database: '0' };

describe('serviceContainerSpec for Redis', () => {
  it.each([
    ['the service', serviceContainerSpec(redis, credentials, 'pier')],
    ['a backup check', verifyContainerSpec(redis, credentials, 'pier', 'f00dfeed-0000')],
  ])('%s gets the password in a 0600 file only, never in its command or environment', (_, spec) => {
    expect(spec.command).toEqual([
      'redis-server',
      REDIS_AUTH_FILE,
      '--bind',
      '0.0.0.0',
      '--protected-mode',
      'no',
      '--dir',
      '/data',
      '--appendonly',
      'yes',
    ]);
    expect(spec.env).toEqual({});
    expect(JSON.stringify({ command: spec.command, env: spec.env, labels: spec.labels })).not.toContain('w:rd');
    expect(spec.files).toEqual([{ path: REDIS_AUTH_FILE, content: redisAuthConfig(credentials.password), mode: 0o600 }]);
    expect(REDIS_AUTH_FILE.startsWith(`${Object.values(spec.volumes ?? {})[0]}/`)).toBe(true);
  });
});

describe('redisAuthConfig', () => {
  it.each([
    ['pA55@w:rd/#%+&=', 'requirepass "pA55@w:rd/#%+&="'],
    ['a"b', 'requirepass "a\\"b"'],
    ['a\\b', 'requirepass "a\\\\b"'],
    ['a b', 'requirepass "a b"'],
  ])('quotes %j', (password, line) => {
    expect(redisAuthConfig(password).split('\n')).toContain(line);
  });

  it.each(['a\nrequirepass x', 'a\rb', 'a\u0000b'])('refuses %j', (password) => {
    expect(() => redisAuthConfig(password)).toThrow(/control characters/);
  });
});
