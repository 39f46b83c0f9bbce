import type { IncomingMessage } from 'node:http';
import type { Route } from '@pier/core';
import { RouteTable } from '@pier/proxy';
import { beforeAll, describe, expect, it } from 'vitest';
import { httpsLocation } from './https-redirect.ts';
import { CertificateBook, type LoadedCertificate } from './tls-certificates.ts';
import { createFallbackCertificate } from './tls-fallback.ts';

let fallback: { cert: string; key: string };
let other: { cert: string; key: string };
const now = new Date();
const hour = 3600_000;

function loaded(hostname: string, pair: { cert: string; key: string }, from = -hour, to = hour): LoadedCertificate {
  return {
    hostname,
    certificatePem: pair.cert,
    privateKeyPem: pair.key,
    notBefore: new Date(now.getTime() + from),
    notAfter: new Date(now.getTime() + to),
  };
}

beforeAll(async () => {
  [fallback, other] = await Promise.all([createFallbackCertificate(), createFallbackCertificate('other')]);
});

describe('CertificateBook', () => {
  it('serves a hostname its own context, anything else the fallback', () => {
    const book = new CertificateBook(fallback);
    expect(book.replace([loaded('Www.Example.org', other)])).toEqual({ changed: ['www.example.org'], invalid: [] });
    const own = book.contextFor('WWW.example.org');
    expect(own).not.toBe(book.contextFor('unknown.example.org'));
    expect(book.contextFor(undefined)).toBe(book.contextFor('unknown.example.org'));
  });

  it('keeps the context of an unchanged certificate and reports removals and renewals as changes', () => {
    const book = new CertificateBook(fallback);
    book.replace([loaded('a.example', other), loaded('b.example', other)]);
    const a = book.contextFor('a.example');
    expect(book.replace([loaded('a.example', other), loaded('b.example', fallback)])).toEqual({
      changed: ['b.example'],
      invalid: [],
    });
    expect(book.contextFor('a.example')).toBe(a);
    expect(book.replace([loaded('a.example', other)]).changed).toEqual(['b.example']);
    expect(book.size).toBe(1);
  });

  it('skips a certificate whose key does not match, keeping the one served before', () => {
    const book = new CertificateBook(fallback);
    book.replace([loaded('a.example', other)]);
    const before = book.contextFor('a.example');
    const mismatched = { ...loaded('a.example', fallback), privateKeyPem: other.key };
    expect(book.replace([mismatched])).toEqual({ changed: [], invalid: ['a.example'] });
    expect(book.contextFor('a.example')).toBe(before);
  });

  it.each([
    ['valid now', -hour, hour, true],
    ['expired', -2 * hour, -hour, false],
    ['not yet valid', hour, 2 * hour, false],
  ])('hasValid: %s → %s', (_name, from, to, valid) => {
    const book = new CertificateBook(fallback);
    book.replace([loaded('a.example', other, from, to)]);
    expect(book.hasValid('a.example', now)).toBe(valid);
    expect(book.hasValid('b.example', now)).toBe(false);
  });
});

describe('httpsLocation', () => {
  const route = (extra: Partial<Route> = {}): Route => ({
    app: 'web',
    env: 'production',
    hostnames: ['a.example', 'b.example'],
    upstreams: [],
    ...extra,
  });
  const req = (host: string | undefined, url = '/x?y=1') => ({ headers: { host }, url }) as unknown as IncomingMessage;

  it.each([
    ['a.example', route(), 443, 'https://a.example/x?y=1'],
    ['A.Example:80', route(), 8443, 'https://a.example:8443/x?y=1'],
    ['b.example', route(), 443, null], // no certificate yet
    ['c.example', route(), 443, null], // no route
    ['a.example', route({ httpsRedirect: false }), 443, null],
    [undefined, route(), 443, null],
  ])('Host %j → %j', (host, r, port, location) => {
    const table = new RouteTable();
    table.replace([r]);
    const book = new CertificateBook(fallback);
    book.replace([loaded('a.example', other)]);
    expect(httpsLocation(req(host), table, book, port, now)).toBe(location);
  });

  it('never redirects to a path that is not absolute', () => {
    const table = new RouteTable();
    table.replace([route()]);
    const book = new CertificateBook(fallback);
    book.replace([loaded('a.example', other)]);
    expect(httpsLocation(req('a.example', '//evil.example/'), table, book, 443, now)).toBe('https://a.example//evil.example/');
    expect(httpsLocation(req('a.example', 'http://evil.example/'), table, book, 443, now)).toBe('https://a.example/');
  });
});
