import { describe, expect, it } from 'vitest';
import { customHostnameProblem, generatedHostnameClaimants, normalizeCustomHostname } from './custom-domains.ts';

describe('customHostnameProblem', () => {
  it.each([
    'example.com',
    'www.example.com',
    'a.b.c.example.co.uk',
    'xn--bcher-kva.example',
    `${'a'.repeat(63)}.example.com`,
    '1password.com',
  ])('accepts %s', (hostname) => {
    expect(customHostnameProblem(hostname)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['localhost', /two labels/],
    ['127.0.0.1', /IP address/],
    ['10.0.0.1', /IP address/],
    ['::1', /IP address/],
    ['[::1]', /IP address/],
    ['2001:db8::1', /IP address/],
    ['*.example.com', /wildcard/],
    ['-bad.example.com', /RFC 1123/],
    ['bad-.example.com', /RFC 1123/],
    ['under_score.example.com', /RFC 1123/],
    ['a..example.com', /empty labels/],
    ['.example.com', /empty labels/],
    [`${'a'.repeat(64)}.example.com`, /RFC 1123/],
    [`${'a.'.repeat(127)}com`, /253/],
    ['example.123', /top-level/],
    ['exa mple.com', /RFC 1123/],
    ['ex/ample.com', /RFC 1123/],
  ])('refuses %j', (hostname, message) => {
    expect(customHostnameProblem(hostname)).toMatch(message);
  });
});

describe('normalizeCustomHostname', () => {
  it('lower-cases, trims and drops a trailing dot', () => {
    expect(normalizeCustomHostname('  WWW.Example.COM. ')).toBe('www.example.com');
  });
});

describe('generatedHostnameClaimants', () => {
  const apps = ['web', 'web-staging', 'api'];
  it.each([
    ['web.pier.test', ['web']],
    ['web-staging.pier.test', ['web', 'web-staging']],
    ['web-pr-4.pier.test', ['web']],
    ['shop.pier.test', []],
    ['pier.test', []],
    ['www.web.pier.test', null],
    ['web.example.com', null],
    ['notpier.test', null],
  ])('%s is claimed by %j', (hostname, claimants) => {
    expect(generatedHostnameClaimants(hostname, 'Pier.Test.', apps)).toEqual(claimants);
  });
});
