import { describe, expect, it } from 'vitest';
import { connectionUrl, generatePassword, mirrorDifferences, serviceImage, serviceVersionProblem } from './managed-service.ts';

describe('managed services', () => {
  it('passwords are long, random and always contain characters a URL must encode', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const password = generatePassword();
      expect(password).toHaveLength(32);
      expect(password).toMatch(/[@:/?#%+&=]/);
      expect(encodeURIComponent(password)).not.toBe(password);
      seen.add(password);
    }
    expect(seen.size).toBe(200);
  });

  it('connection URLs percent-encode the userinfo and round-trip through URL', () => {
    const credentials = { user: 'pier', password: 'a@b:c/d?e#f%g+h&i=j', database: 'shop_db' };
    const url = connectionUrl('postgres', 'pier-svc-shop', credentials);
    expect(url).toBe('postgres://pier:a%40b%3Ac%2Fd%3Fe%23f%25g%2Bh%26i%3Dj@pier-svc-shop:5432/shop_db');
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.password)).toBe(credentials.password);
    expect(parsed.hostname).toBe('pier-svc-shop');
    const redis = new URL(connectionUrl('redis', 'pier-svc-cache', { ...credentials, user: 'default', database: '0' }));
    expect([redis.protocol, redis.port, redis.pathname, decodeURIComponent(redis.password)]).toEqual([
      'redis:',
      '6379',
      '/0',
      credentials.password,
    ]);
  });

  it.each([
    ['postgres', 'postgres:15-bookworm', undefined, 'postgres:15-bookworm', '15'],
    ['postgres', 'postgres:15-bookworm', '16', 'postgres:16', '16'],
    ['postgres', 'pier-local/postgres', undefined, 'pier-local/postgres', '15'],
    ['postgres', 'pier-local/postgres:latest', '15', 'pier-local/postgres:15', '15'],
    ['redis', 'localhost:5000/redis:7.2-alpine', undefined, 'localhost:5000/redis:7.2-alpine', '7.2'],
    ['redis', 'localhost:5000/redis', '7', 'localhost:5000/redis:7', '7'],
  ] as const)('%s image %s version %s → %s (%s)', (type, configured, version, image, resolved) => {
    expect(serviceImage(type, configured, version)).toEqual({ image, version: resolved });
  });

  it('versions are numbers only', () => {
    expect(serviceVersionProblem('15')).toBeUndefined();
    expect(serviceVersionProblem('7.2.4')).toBeUndefined();
    for (const bad of ['latest', '15-bookworm', '../x', '', '1.2.3.4']) expect(serviceVersionProblem(bad)).toBeDefined();
  });

  it('mirror differences name each type that differs', () => {
    const pg = (version: string) => ({ type: 'postgres' as const, version });
    expect(mirrorDifferences({ name: 'staging', services: [pg('15')] }, { name: 'production', services: [pg('15')] })).toEqual(
      [],
    );
    expect(
      mirrorDifferences(
        { name: 'staging', services: [pg('16')] },
        { name: 'production', services: [pg('15'), { type: 'redis', version: '7' }] },
      ),
    ).toEqual(['staging has postgres 16, production has postgres 15', 'staging has no redis, production has redis 7']);
  });
});
