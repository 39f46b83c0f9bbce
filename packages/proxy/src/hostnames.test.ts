import { describe, expect, it } from 'vitest';
import { hostFromHeader, hostnamesFor, requestHost } from './hostnames.ts';

describe('hostnamesFor', () => {
  it.each([
    ['production gets the bare name', 'web', 'production', 'apps.example.com', [], ['web.apps.example.com']],
    ['other environments get <app>-<env>', 'web', 'staging', 'apps.example.com', [], ['web-staging.apps.example.com']],
    ['preview environments too', 'api', 'pr-42', 'apps.example.com', [], ['api-pr-42.apps.example.com']],
    [
      'custom domains follow, canonical',
      'web',
      'production',
      'apps.example.com',
      ['WWW.Example.org.', 'example.org'],
      ['web.apps.example.com', 'www.example.org', 'example.org'],
    ],
    ['duplicates are dropped', 'web', 'production', 'Apps.Example.com.', ['web.apps.example.com'], ['web.apps.example.com']],
    ['empty custom entries are dropped', 'web', 'staging', 'x.test', ['', ' '], ['web-staging.x.test']],
  ])('%s', (_, app, env, base, custom, expected) => {
    expect(hostnamesFor(app, env, base, custom)).toEqual(expected);
  });
});

describe('hostFromHeader', () => {
  it.each([
    ['web.apps.example.com', 'web.apps.example.com'],
    ['Web.Apps.Example.COM', 'web.apps.example.com'],
    ['web.apps.example.com:8080', 'web.apps.example.com'],
    ['web.apps.example.com.', 'web.apps.example.com'],
    ['web.apps.example.com.:80', 'web.apps.example.com'],
    ['[::1]:8080', '[::1]'],
    ['127.0.0.1:80', '127.0.0.1'],
    ['', ''],
    [undefined, ''],
  ])('%s → %s', (header, expected) => {
    expect(hostFromHeader(header)).toBe(expected);
  });
});

describe('requestHost', () => {
  it.each([
    ['Host over HTTP/1.1', { host: 'web.pier.test' }, 'web.pier.test'],
    [':authority over HTTP/2', { ':authority': 'web.pier.test:8443' }, 'web.pier.test:8443'],
    ['Host when an HTTP/2 client sent both', { ':authority': 'a.pier.test', host: 'b.pier.test' }, 'b.pier.test'],
    ['nothing', {}, undefined],
  ])('%s', (_, headers, expected) => {
    expect(requestHost(headers)).toBe(expected);
  });
});
