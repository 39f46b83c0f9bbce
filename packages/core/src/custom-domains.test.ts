import { describe, expect, it } from 'vitest';
import {
  customHostnameProblem,
  generatedHostnameClaimants,
  generatedNameClash,
  normalizeCustomHostname,
} from './custom-domains.ts';

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
    ['www.web.pier.test', ['web']],
    ['a.b.web-staging.pier.test', ['web', 'web-staging']],
    ['www.shop.pier.test', []],
    ['web.example.com', null],
    ['web.pier.test.example.com', null],
    ['notpier.test', null],
  ])('%s is claimed by %j', (hostname, claimants) => {
    expect(generatedHostnameClaimants(hostname, 'Pier.Test.', apps)).toEqual(claimants);
  });
});

describe('generatedNameClash', () => {
  const apps = ['web', 'web-staging', 'api'];
  it.each([
    // another app's generated hostname, or a name under it
    ['web', 'api.pier.test', { kind: 'owned', owners: ['api'], parent: 'api.pier.test' }],
    ['web', 'x.api.pier.test', { kind: 'owned', owners: ['api'], parent: 'api.pier.test' }],
    ['web', 'x.api-staging.pier.test', { kind: 'owned', owners: ['api'], parent: 'api-staging.pier.test' }],
    ['web', 'a.b.api-pr-7.pier.test', { kind: 'owned', owners: ['api'], parent: 'api-pr-7.pier.test' }],
    ['web', 'x.web-staging.pier.test', { kind: 'owned', owners: ['web-staging'], parent: 'web-staging.pier.test' }],
    ['web-staging', 'x.web-staging.pier.test', { kind: 'owned', owners: ['web'], parent: 'web-staging.pier.test' }],
    ['api', 'x.web-staging.pier.test', { kind: 'owned', owners: ['web', 'web-staging'], parent: 'web-staging.pier.test' }],
    // Pier's own names: the base domain and any name directly under it
    ['web', 'web.pier.test', { kind: 'generated' }],
    ['web', 'blog.pier.test', { kind: 'generated' }],
    ['web', 'pier.test', { kind: 'generated' }],
    // under a name that a later app would get
    ['web', 'www.blog.pier.test', { kind: 'unclaimed', parent: 'blog.pier.test' }],
    // under its own generated hostnames, or outside the base domain: no clash
    ['web', 'www.web.pier.test', undefined],
    ['web', 'www.web-pr-3.pier.test', undefined],
    ['api', 'a.b.api-staging.pier.test', undefined],
    ['web', 'api.example.com', undefined],
    ['web', 'api.pier.test.example.com', undefined],
  ])('%s adding %s: %j', (app, hostname, clash) => {
    expect(generatedNameClash(hostname, app, 'pier.test', apps)).toEqual(clash);
  });
});
