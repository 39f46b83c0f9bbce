import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { markEncoded, ResponseHeaderScan } from './cdn-headers.ts';
import { acceptsCoding, createEncoder, hasCompressibleBody, isCompressibleType, negotiateEncoding } from './compression.ts';

describe('negotiateEncoding', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip, deflate', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br;q=0.5, gzip;q=0.8', 'gzip'],
    ['gzip;q=0.8, br;q=0.8', 'br'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', null],
    ['*', 'br'],
    ['*;q=0.5, gzip', 'gzip'],
    ['gzip, *;q=0', 'gzip'],
    ['identity', null],
    ['identity;q=1, gzip;q=0.5', null],
    ['identity;q=0.5, gzip', 'gzip'],
    ['deflate', null],
    ['GZIP ; Q=1', 'gzip'],
  ])('%j → %s', (header, expected) => {
    expect(negotiateEncoding(header)).toBe(expected);
    expect(negotiateEncoding(header)).toBe(expected); // second time from memory
  });
});

describe('acceptsCoding', () => {
  it.each([
    ['gzip, br', 'gzip', true],
    ['br', 'gzip', false],
    ['gzip;q=0', 'gzip', false],
    ['*', 'gzip', true],
    [undefined, 'gzip', false],
    [undefined, 'identity', true],
  ] as const)('%j accepts %s: %s', (header, coding, expected) => {
    expect(acceptsCoding(header, coding)).toBe(expected);
  });
});

describe('isCompressibleType', () => {
  it.each([
    ['text/html; charset=utf-8', true],
    ['text/css', true],
    ['text/plain', true],
    ['text/event-stream', false],
    ['application/json', true],
    ['application/javascript; charset=utf-8', true],
    ['application/xml', true],
    ['application/problem+json', true],
    ['application/atom+xml', true],
    ['image/svg+xml', true],
    ['application/wasm', true],
    ['font/ttf', true],
    ['font/woff2', false],
    ['image/png', false],
    ['image/jpeg', false],
    ['application/octet-stream', false],
    ['application/zip', false],
    ['application/jsonp', false],
    ['video/mp4', false],
  ])('%s: %s', (type, expected) => {
    expect(isCompressibleType(type)).toBe(expected);
  });
});

describe('hasCompressibleBody', () => {
  it('compresses 200s and errors, never 204, 206, 304, redirects or 1xx', () => {
    expect([200, 201, 404, 500].map(hasCompressibleBody)).toEqual([true, true, true, true]);
    expect([101, 204, 206, 301, 304].map(hasCompressibleBody)).toEqual([false, false, false, false, false]);
  });
});

describe('markEncoded', () => {
  it('sets Content-Encoding, drops Content-Length, adds to Vary and weakens a strong ETag', () => {
    const flat = ['Content-Type', 'text/html', 'Content-Length', '5000', 'ETag', '"abc"', 'Vary', 'Origin', 'x-request-id', 'r'];
    markEncoded(flat, new ResponseHeaderScan().scan(flat), 'br');
    expect(flat).toEqual([
      'Content-Type',
      'text/html',
      'ETag',
      'W/"abc"',
      'Vary',
      'Origin, Accept-Encoding',
      'x-request-id',
      'r',
      'content-encoding',
      'br',
    ]);
  });

  it('only adds Vary when the client gets the body unencoded, and never twice', () => {
    const flat = ['content-type', 'text/css', 'etag', 'W/"x"', 'vary', 'accept-encoding'];
    markEncoded(flat, new ResponseHeaderScan().scan(flat), null);
    expect(flat).toEqual(['content-type', 'text/css', 'etag', 'W/"x"', 'vary', 'accept-encoding']);
    const bare = ['content-type', 'text/css'];
    markEncoded(bare, new ResponseHeaderScan().scan(bare), null);
    expect(bare).toEqual(['content-type', 'text/css', 'vary', 'Accept-Encoding']);
  });
});

describe('createEncoder', () => {
  it.each(['br', 'gzip'] as const)('%s round-trips a body', async (coding) => {
    const body = Buffer.from('<p>hello, compressed world</p>\n'.repeat(200));
    const encoder = createEncoder(coding, body.length);
    const out: Buffer[] = [];
    encoder.on('data', (chunk: Buffer) => out.push(chunk));
    const ended = new Promise((resolve) => encoder.on('end', resolve));
    encoder.end(body);
    await ended;
    const encoded = Buffer.concat(out);
    expect(encoded.length).toBeLessThan(body.length / 10);
    expect((coding === 'br' ? brotliDecompressSync(encoded) : gunzipSync(encoded)).equals(body)).toBe(true);
  });
});
