import { describe, expect, it } from 'vitest';
import { REDIS_AUTH_FILE, redisAuthConfig } from './engines/redis/redis-startup.ts';
import { serviceContainerSpec, verifyContainerSpec } from './service-spec.ts';

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

describe('serviceContainerSpec for Postgres', () => {
  it('passes the credentials to the image’s entrypoint and mounts the volume at its data directory', () => {
    const spec = serviceContainerSpec({ ...redis, name: 'shop', type: 'postgres', image: 'postgres:15' }, credentials, 'pier');
    expect(spec.env).toEqual({ POSTGRES_USER: 'default', POSTGRES_PASSWORD: credentials.password, POSTGRES_DB: '0' });
    expect(spec.command).toBeUndefined();
    expect(spec.volumes).toEqual({ v: '/var/lib/postgresql/data' });
    expect(spec.networks).toEqual(['pier-svc-shop']);
  });
});

describe('serviceContainerSpec for Postgres with TLS', () => {
  const tls = { certificatePem: 'CERT', keyPem: 'KEY', authorityId: '0123456789abcdef' };
  const spec = serviceContainerSpec({ ...redis, name: 'shop', type: 'postgres', image: 'postgres:15' }, credentials, 'pier', tls);

  it('starts the server with ssl on, reading the certificate and the key written before it starts', () => {
    expect(spec.command).toEqual([
      'postgres',
      '-c',
      'ssl=on',
      '-c',
      'ssl_cert_file=/etc/pier/tls/server.crt',
      '-c',
      'ssl_key_file=/etc/pier/tls/server.key',
    ]);
    expect(spec.files).toEqual([
      { path: '/etc/pier/tls/server.crt', content: 'CERT', mode: 0o644 },
      { path: '/etc/pier/tls/server.key', content: 'KEY', mode: 0o600, owner: 'postgres' },
    ]);
  });

  it('keeps the key out of the data volume (a new one must be empty), the command and the environment', () => {
    const volume = Object.values(spec.volumes ?? {})[0] as string;
    for (const file of spec.files ?? []) expect(file.path.startsWith(`${volume}/`)).toBe(false);
    expect(JSON.stringify({ command: spec.command, env: spec.env, labels: spec.labels })).not.toContain('KEY');
  });

  it('is labelled with the CA that signed its certificate; a backup check serves no TLS', () => {
    expect(spec.labels['pier.service-ca']).toBe('0123456789abcdef');
    const check = verifyContainerSpec({ ...redis, type: 'postgres', image: 'postgres:15' }, credentials, 'pier', 'f00dfeed');
    expect([check.command, check.files, check.labels['pier.service-ca']]).toEqual([undefined, undefined, undefined]);
  });
});

describe('a service of an unknown type', () => {
  it.each([
    ['the service', () => serviceContainerSpec({ ...redis, type: 'mysql' as never }, credentials, 'pier')],
    ['a backup check', () => verifyContainerSpec({ ...redis, type: 'mysql' as never }, credentials, 'pier', 'f00dfeed')],
  ])('%s gets no container spec (never Redis’s): the error names the type', (_, build) => {
    expect(build).toThrow('unknown service type "mysql"; known types: postgres, redis');
  });
});
