import { describe, expect, it } from 'vitest';
import {
  connectionUrl,
  generateCredentials,
  generatePassword,
  LINK_OWNER_ROLE,
  LINK_ROLE_PATTERN,
  linkRoleName,
  mirrorDifferences,
  scramVerifier,
  serviceImage,
  serviceVersionProblem,
} from './managed-service.ts';
import { SERVICE_TYPES } from './service-engines.ts';

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

  it.each(SERVICE_TYPES)('%s versions are numbers only', (type) => {
    expect(serviceVersionProblem(type, '15')).toBeUndefined();
    expect(serviceVersionProblem(type, '7.2.4')).toBeUndefined();
    for (const bad of ['latest', '15-bookworm', '../x', '', '1.2.3.4']) expect(serviceVersionProblem(type, bad)).toBeDefined();
  });

  it.each([
    ['postgres', 'shop-db', { user: 'pier', database: 'shop_db' }],
    ['redis', 'cache', { user: 'default', database: '0' }],
  ] as const)('new %s credentials for %s', (type, name, expected) => {
    const credentials = generateCredentials(type, name);
    expect(credentials).toMatchObject(expected);
    expect(credentials.password).toHaveLength(32);
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

  it.each([
    ['0f1e2d3c-4b5a-4697-8877-665544332211', 'app_0f1e2d3c4b5a'],
    ['ABCDEF01-2345-4678-9abc-def012345678', 'app_abcdef012345'],
  ])('the link role of record %s is %s', (id, name) => {
    expect(linkRoleName(id)).toBe(name);
    expect(name).toMatch(LINK_ROLE_PATTERN);
  });

  it.each(['', 'x', 'not-a-uuid-at-all', "'; drop role pier; --"])('no link role is named after %j', (id) => {
    expect(() => linkRoleName(id)).toThrow(RangeError);
  });

  it('the owner role is never taken for a link role', () => {
    expect(LINK_OWNER_ROLE).not.toMatch(LINK_ROLE_PATTERN);
  });

  it('SCRAM verifiers match what Postgres 15 stores for the same password and salt', () => {
    // `CREATE ROLE vec PASSWORD 'p@ss:w/rd?#%+&='`, then pg_authid.rolpassword, from pier-local/postgres:15.
    const stored =
      'SCRAM-SHA-256$4096:bnEGEp+fAl02aVTpi5pF/w==$y0bGr/vZD+bdkvVqwkSwm/p5teVTFtKAjpcE7VxYBX4=:v2N+/sBzF4gXf5UprbHI/OUV18N1xFPKEzBzzQpEXNw=';
    expect(scramVerifier('p@ss:w/rd?#%+&=', Buffer.from('bnEGEp+fAl02aVTpi5pF/w==', 'base64'))).toBe(stored);
    expect(scramVerifier('another', Buffer.from('bnEGEp+fAl02aVTpi5pF/w==', 'base64'))).not.toBe(stored);
    // A fresh salt each time; the password is never part of it.
    const password = generatePassword();
    const [a, b] = [scramVerifier(password), scramVerifier(password)];
    expect(a).not.toBe(b);
    expect(a).not.toContain(password);
    expect(a).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
  });

  it.each(['', 'with space', 'naïve', 'tab\there'])('refuses to hash %j (only generated passwords are)', (password) => {
    expect(() => scramVerifier(password)).toThrow(RangeError);
  });
});
