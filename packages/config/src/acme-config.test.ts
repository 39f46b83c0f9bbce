import { describe, expect, it } from 'vitest';
import { parseConfig } from './load-config.ts';
import { proxyConfigSchema } from './proxy-schema.ts';
import { workerConfigSchema } from './schemas.ts';
import { baseEnv as base, workerProblems as problems } from './testing/worker-env.ts';

describe('ACME settings', () => {
  it("default to Let's Encrypt production, no e-mail (custom domains only), no extra CA", () => {
    const config = parseConfig('worker', workerConfigSchema, base);
    expect(config.PIER_ACME_DIRECTORY_URL).toBe('https://acme-v02.api.letsencrypt.org/directory');
    expect(config.PIER_ACME_EMAIL).toBeUndefined();
    expect(config.PIER_ACME_CA_BUNDLE).toBeUndefined();
    expect(config.PIER_ACME_LEASE_MS).toBe(120_000);
  });

  it.each([
    ['PIER_ACME_DIRECTORY_URL', 'http://ca.example/directory', /https:\/\//],
    ['PIER_ACME_DIRECTORY_URL', 'not a url', /https:\/\//],
    ['PIER_ACME_EMAIL', 'nobody', /e-mail/],
    ['PIER_ACME_CA_BUNDLE', 'relative/ca.pem', /absolute path/],
    ['PIER_ACME_LEASE_MS', '10', /at least 1000/],
  ])('%s=%j is refused', (name, value, message) => {
    const found = problems({ [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^${name}: `));
    expect(found[0]).toMatch(message);
  });

  it('the proxy listens on every interface unless told otherwise', () => {
    expect(parseConfig('proxy', proxyConfigSchema, base).PIER_PROXY_HOST).toBe('0.0.0.0');
    expect(parseConfig('proxy', proxyConfigSchema, { ...base, PIER_PROXY_HOST: '127.0.0.1' }).PIER_PROXY_HOST).toBe('127.0.0.1');
  });
});
