import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './load-config.ts';
import { proxyConfigSchema } from './proxy-schema.ts';
import { apiConfigSchema, migrateConfigSchema, workerConfigSchema } from './schemas.ts';

const goodKey = randomBytes(32).toString('base64');
const adminToken = randomBytes(32).toString('hex');
const valid = {
  DATABASE_URL: 'postgres://pier:pw@127.0.0.1:5432/pier',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  PIER_SECRET_KEY: goodKey,
  PIER_BASE_DOMAIN: 'Apps.Example.com.',
  PIER_ADMIN_TOKEN: adminToken,
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig('api', apiConfigSchema, env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('api config', () => {
  it('parses a valid environment, with defaults and normalised values', () => {
    const config = parseConfig('api', apiConfigSchema, valid);
    expect(config.PIER_API_PORT).toBe(4000);
    expect(config.PIER_API_HOST).toBe('127.0.0.1');
    expect(config.PIER_BASE_DOMAIN).toBe('apps.example.com');
    expect(config.PIER_SECRET_KEY).toHaveLength(32);
    expect(config.PIER_SECRET_KEYS_PREVIOUS).toEqual([]);
  });

  it('lists every missing variable at once, naming each', () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'DATABASE_URL',
      'REDIS_URL',
      'PIER_SECRET_KEY',
      'PIER_BASE_DOMAIN',
      'PIER_ADMIN_TOKEN',
    ]);
  });

  it('treats empty strings as missing', () => {
    expect(problemsOf({ ...valid, DATABASE_URL: '' })).toEqual([expect.stringMatching(/^DATABASE_URL: required/)]);
  });

  it.each([
    ['DATABASE_URL', 'mysql://x/y', /postgres:\/\//],
    ['DATABASE_URL', 'not a url', /postgres:\/\//],
    ['REDIS_URL', 'http://x', /redis:\/\//],
    ['PIER_API_PORT', '70000', /between 1 and 65535/],
    ['PIER_API_PORT', 'eighty', /port/],
    ['PIER_BASE_DOMAIN', 'not a domain!', /DNS name/],
    ['PIER_ADMIN_TOKEN', 'short', /at least 32/],
    ['PIER_ADMIN_TOKEN', 'a'.repeat(40), /repetitive/],
    ['PIER_LOG_LEVEL', 'loud', /PIER_LOG_LEVEL/],
    ['PIER_SECRET_KEY', randomBytes(16).toString('base64'), /exactly 32 bytes \(it decodes to 16\)/],
    ['PIER_SECRET_KEY', Buffer.alloc(32, 7).toString('base64'), /too weak/],
    ['PIER_SECRET_KEY', 'change-me-please-change-me-please!!', /base64/],
    ['PIER_SECRET_KEYS_PREVIOUS', `${goodKey},c2hvcnQ=`, /key #2 must decode to exactly 32 bytes/],
  ])('%s=%j is refused', (name, value, message) => {
    const problems = problemsOf({ ...valid, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: `));
    expect(problems[0]).toMatch(message);
  });

  it('never echoes a secret value in its message', () => {
    const weak = Buffer.alloc(32, 7).toString('base64');
    const err = (() => {
      try {
        parseConfig('api', apiConfigSchema, { ...valid, PIER_SECRET_KEY: weak, PIER_ADMIN_TOKEN: 'x'.repeat(12) });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).not.toContain(weak);
    expect(err?.message).not.toContain('x'.repeat(12));
    expect(err?.message).toContain('pier api: invalid configuration (2 problems)');
  });

  it('accepts url-safe base64 keys and previous keys for rotation', () => {
    const config = parseConfig('api', apiConfigSchema, {
      ...valid,
      PIER_SECRET_KEY: randomBytes(32).toString('base64url'),
      PIER_SECRET_KEYS_PREVIOUS: `${randomBytes(32).toString('base64')}, ${randomBytes(32).toString('base64')}`,
    });
    expect(config.PIER_SECRET_KEYS_PREVIOUS).toHaveLength(2);
  });
});

describe('.env.example', () => {
  const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
  const documented = new Set([...example.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]));

  it.each([
    ['api', apiConfigSchema],
    ['worker', workerConfigSchema],
    ['proxy', proxyConfigSchema],
    ['migrate', migrateConfigSchema],
  ])('documents every variable the %s reads', (_name, schema) => {
    for (const key of Object.keys(schema.shape)) expect(documented, key).toContain(key);
  });

  it('parses once its secrets are filled in', () => {
    const env = Object.fromEntries([...example.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    const filled = {
      ...env,
      PIER_SECRET_KEY: goodKey,
      PIER_PROXY_KEY: randomBytes(32).toString('base64'),
      PIER_ADMIN_TOKEN: adminToken,
    };
    expect(() => parseConfig('api', apiConfigSchema, filled)).not.toThrow();
    expect(() => parseConfig('worker', workerConfigSchema, filled)).not.toThrow();
    expect(() => parseConfig('proxy', proxyConfigSchema, filled)).not.toThrow();
  });
});

describe('the proxy key', () => {
  const base = {
    DATABASE_URL: 'postgres://pier:pw@127.0.0.1:5432/pier',
    REDIS_URL: 'redis://127.0.0.1:6379/0',
    PIER_BASE_DOMAIN: 'apps.example.com',
  };
  const problems = (schema: Parameters<typeof parseConfig>[1], env: Record<string, string>) => {
    try {
      parseConfig('test', schema, env);
      return [];
    } catch (err) {
      return [...(err as ConfigError).problems];
    }
  };

  it('is required by the worker and the proxy, and the proxy needs no PIER_SECRET_KEY', () => {
    expect(problems(workerConfigSchema, { ...base, PIER_SECRET_KEY: goodKey }).join('\n')).toContain('PIER_PROXY_KEY');
    expect(problems(proxyConfigSchema, base).join('\n')).toContain('PIER_PROXY_KEY');
    const proxy = parseConfig('proxy', proxyConfigSchema, { ...base, PIER_PROXY_KEY: goodKey, PIER_SECRET_KEY: goodKey });
    expect(Object.keys(proxy)).not.toContain('PIER_SECRET_KEY');
    expect(Object.keys(proxy)).not.toContain('PIER_SECRET_KEYS_PREVIOUS');
  });

  it('must differ from PIER_SECRET_KEY', () => {
    expect(problems(workerConfigSchema, { ...base, PIER_SECRET_KEY: goodKey, PIER_PROXY_KEY: goodKey })).toEqual([
      expect.stringMatching(/PIER_PROXY_KEY.*must differ from PIER_SECRET_KEY/),
    ]);
  });
});
