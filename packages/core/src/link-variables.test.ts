import { describe, expect, it } from 'vitest';
import { injectedVariableKey } from './environment-defaults.ts';
import {
  asksForTls,
  authorityInjection,
  authorityVariableKeys,
  CA_CERT_PATH,
  linkPrefix,
  linkVariableKeys,
  linkVariables,
  urlParamsSchema,
  withUrlParams,
} from './link-variables.ts';
import { describeIssues } from './zod-issues.ts';

const credentials = { user: 'app_0123456789ab', password: 'p@ss:w/rd', database: 'shop' };
const postgres = { host: 'pier-svc-shop', credentials };

describe('linkVariables', () => {
  it.each([
    [
      'the first Postgres',
      'postgres',
      'DATABASE_URL',
      {},
      {
        DATABASE_URL: 'postgres://app_0123456789ab:p%40ss%3Aw%2Frd@pier-svc-shop:5432/shop',
        PGHOST: 'pier-svc-shop',
        PGPORT: '5432',
        PGUSER: 'app_0123456789ab',
        PGPASSWORD: 'p@ss:w/rd',
        PGDATABASE: 'shop',
      },
    ],
    [
      'a second Postgres, with sslmode',
      'postgres',
      'SHOP_DATABASE_URL',
      { sslmode: 'require', application_name: 'web' },
      {
        SHOP_DATABASE_URL:
          'postgres://app_0123456789ab:p%40ss%3Aw%2Frd@pier-svc-shop:5432/shop?application_name=web&sslmode=require',
        SHOP_PGHOST: 'pier-svc-shop',
        SHOP_PGPORT: '5432',
        SHOP_PGUSER: 'app_0123456789ab',
        SHOP_PGPASSWORD: 'p@ss:w/rd',
        SHOP_PGDATABASE: 'shop',
        SHOP_PGSSLMODE: 'require',
      },
    ],
    [
      'Redis',
      'redis',
      'REDIS_URL',
      {},
      {
        REDIS_URL: 'redis://default:p%40ss%3Aw%2Frd@pier-svc-cache:6379/0',
        REDIS_HOST: 'pier-svc-cache',
        REDIS_PORT: '6379',
        REDIS_PASSWORD: 'p@ss:w/rd',
      },
    ],
    [
      'a second Redis, its parameter only in the URL',
      'redis',
      'SESSIONS_REDIS_URL',
      { protocol: '3' },
      {
        SESSIONS_REDIS_URL: 'redis://default:p%40ss%3Aw%2Frd@pier-svc-cache:6379/0?protocol=3',
        SESSIONS_REDIS_HOST: 'pier-svc-cache',
        SESSIONS_REDIS_PORT: '6379',
        SESSIONS_REDIS_PASSWORD: 'p@ss:w/rd',
      },
    ],
  ] as const)('%s', (_, type, variable, params, expected) => {
    const endpoint =
      type === 'redis'
        ? { host: 'pier-svc-cache', credentials: { user: 'default', password: 'p@ss:w/rd', database: '0' } }
        : postgres;
    expect(linkVariables(type, variable, endpoint, params)).toEqual(expected);
    expect(linkVariableKeys(type, variable, params).sort()).toEqual(Object.keys(expected).sort());
  });

  it('prefixes exactly as the URL variable is prefixed (injectedVariableKey)', () => {
    for (const type of ['postgres', 'redis'] as const) {
      expect(linkPrefix(type, injectedVariableKey(type, 'orders-db', true))).toBe('');
      expect(linkPrefix(type, injectedVariableKey(type, 'orders-db', false))).toBe('ORDERS_DB_');
    }
    expect(() => linkPrefix('postgres', 'REDIS_URL')).toThrow(RangeError);
  });

  it('the URL parses back to the same credentials, with its parameters', () => {
    const url = new URL(linkVariables('postgres', 'DATABASE_URL', postgres, { sslmode: 'verify-full' }).DATABASE_URL as string);
    expect([decodeURIComponent(url.username), decodeURIComponent(url.password), url.hostname, url.port, url.pathname]).toEqual([
      credentials.user,
      credentials.password,
      'pier-svc-shop',
      '5432',
      '/shop',
    ]);
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
    expect(withUrlParams('postgres://x', {})).toBe('postgres://x');
  });
});

describe('urlParamsSchema', () => {
  it.each([
    [{ sslmode: 'require' }],
    [{ sslmode: 'verify-full', sslrootcert: '/etc/pier/ca.crt', connect_timeout: '10' }],
    [{ target_session_attrs: 'read-write', options: '-c,search_path' }],
    [{}],
  ])('accepts %j', (params) => {
    expect(urlParamsSchema.safeParse(params).success).toBe(true);
  });

  it.each([
    [{ sslmode: 'require&password=x' }, 'urlParams.sslmode: parameter values are'],
    [{ sslmode: '' }, 'urlParams.sslmode: parameter values are'],
    [{ 'ssl mode': 'require' }, 'urlParams.ssl mode: invalid key'],
    [{ SSLMODE: 'require' }, 'urlParams.SSLMODE: invalid key'],
    [{ password: 'x' }, 'urlParams.password: password is part of the URL'],
    [{ host: 'elsewhere' }, 'urlParams.host: host is part of the URL'],
    [{ sslmode: 'a b' }, 'urlParams.sslmode: parameter values are'],
    [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`p${i}`, 'x'])), 'urlParams: at most 16 parameters'],
  ])('refuses %j, naming the field', (params, message) => {
    const result = urlParamsSchema.safeParse(params);
    expect(result.success).toBe(false);
    expect(describeIssues('urlParams', result.error?.issues ?? [])).toContain(message);
  });
});

describe('authorityInjection', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';

  it.each([
    ['a Postgres', ['postgres'], { PIER_CA_CERT: pem, PGSSLROOTCERT: CA_CERT_PATH }, 1],
    ['Postgres and Redis', ['redis', 'postgres'], { PIER_CA_CERT: pem, PGSSLROOTCERT: CA_CERT_PATH }, 1],
    ['Redis alone (no TLS)', ['redis'], {}, 0],
    ['nothing', [], {}, 0],
  ] as const)('%s linked', (_, types, variables, files) => {
    const injection = authorityInjection(types, pem);
    expect(injection.variables).toEqual(variables);
    expect(injection.files).toHaveLength(files);
    if (files) expect(injection.files[0]).toEqual({ path: '/etc/pier/ca.crt', content: pem, mode: 0o644 });
    expect(authorityVariableKeys(types).sort()).toEqual(Object.keys(variables).sort());
  });

  it('points libpq at the CA only when a Postgres link asks for TLS (else another server’s sslmode=require would be checked against it)', () => {
    expect(authorityInjection(['postgres'], pem, false).variables).toEqual({ PIER_CA_CERT: pem });
    expect(authorityInjection(['postgres'], pem, false).files).toHaveLength(1);
    expect([
      asksForTls({ sslmode: 'require' }),
      asksForTls({ sslmode: 'verify-full' }),
      asksForTls({ sslmode: 'prefer' }),
      asksForTls({}),
    ]).toEqual([true, true, false, false]);
  });

  it('offers nothing before the installation has its CA', () => {
    expect(authorityInjection(['postgres'], null)).toEqual({ variables: {}, files: [] });
  });
});
