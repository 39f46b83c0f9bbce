import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load-config.ts';
import { workerConfigSchema } from './schemas.ts';
import { baseEnv as base, workerProblems as problems } from './testing/worker-env.ts';

describe('network pool settings', () => {
  it('default to 10.213.0.0/16 in /24s', () => {
    const config = parseConfig('worker', workerConfigSchema, base);
    expect([config.PIER_NETWORK_POOL, config.PIER_NETWORK_SUBNET_SIZE]).toEqual(['10.213.0.0/16', 24]);
    expect(
      parseConfig('worker', workerConfigSchema, { ...base, PIER_NETWORK_POOL: '172.28.0.0/14', PIER_NETWORK_SUBNET_SIZE: '26' }),
    ).toMatchObject({ PIER_NETWORK_POOL: '172.28.0.0/14', PIER_NETWORK_SUBNET_SIZE: 26 });
  });

  it.each([
    [{ PIER_NETWORK_POOL: '10.213.0.1/16' }, 'PIER_NETWORK_POOL'],
    [{ PIER_NETWORK_POOL: 'ten' }, 'PIER_NETWORK_POOL'],
    [{ PIER_NETWORK_SUBNET_SIZE: '12' }, 'PIER_NETWORK_SUBNET_SIZE'],
    [{ PIER_NETWORK_SUBNET_SIZE: '30' }, 'PIER_NETWORK_SUBNET_SIZE'],
    [{ PIER_NETWORK_SUBNET_SIZE: 'x' }, 'PIER_NETWORK_SUBNET_SIZE'],
    [{ PIER_NETWORK_POOL: '8.8.0.0/16' }, 'private range'],
    [{ PIER_NETWORK_POOL: '10.0.0.0/8', PIER_NETWORK_SUBNET_SIZE: '28' }, 'at most 65536'],
  ])('%j is refused, naming the setting', (env, key) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(key);
  });

  it('a bad pool is reported together with the other bad settings', () => {
    const found = problems({ PIER_NETWORK_POOL: 'ten', PIER_BUILD_CONCURRENCY: '0' });
    expect(found).toHaveLength(2);
    expect(found.join('\n')).toContain('PIER_NETWORK_POOL');
  });

  it('PIER_PUBLIC_IPS (api): a list of IP addresses, each checked', async () => {
    const { apiConfigSchema } = await import('./schemas.ts');
    const api = { ...base, PIER_ADMIN_TOKEN: randomBytes(32).toString('hex') };
    expect(parseConfig('api', apiConfigSchema, api).PIER_PUBLIC_IPS).toEqual([]);
    expect(
      parseConfig('api', apiConfigSchema, { ...api, PIER_PUBLIC_IPS: ' 203.0.113.7, 2001:DB8::7 ' }).PIER_PUBLIC_IPS,
    ).toEqual(['203.0.113.7', '2001:db8::7']);
    expect(() => parseConfig('api', apiConfigSchema, { ...api, PIER_PUBLIC_IPS: '203.0.113.7,example.com' })).toThrow(
      /PIER_PUBLIC_IPS.*"example.com" is not an IP address/,
    );
  });

  it('PIER_PUBLIC_HTTPS_PORT (proxy): unset by default, else a port', async () => {
    const { proxyConfigSchema } = await import('./proxy-schema.ts');
    expect(
      parseConfig('proxy', proxyConfigSchema, { ...base, PIER_PUBLIC_HTTPS_PORT: '' }).PIER_PUBLIC_HTTPS_PORT,
    ).toBeUndefined();
    expect(parseConfig('proxy', proxyConfigSchema, { ...base, PIER_PUBLIC_HTTPS_PORT: '443' }).PIER_PUBLIC_HTTPS_PORT).toBe(443);
    expect(() => parseConfig('proxy', proxyConfigSchema, { ...base, PIER_PUBLIC_HTTPS_PORT: '70000' })).toThrow(
      /PIER_PUBLIC_HTTPS_PORT/,
    );
  });
});
