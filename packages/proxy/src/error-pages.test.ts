import { describe, expect, it } from 'vitest';
import { errorResponse, NO_HEALTHY_UPSTREAM, prefersJson, rawErrorResponse, UNKNOWN_HOST } from './error-pages.ts';

describe('prefersJson', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
    ['application/json', true],
    ['application/problem+json', true],
    ['application/json, text/plain, */*', true],
    ['text/html;q=0.5, application/json', true],
    ['application/json;q=0.5, text/html', false],
    ['application/*', true],
    ['text/*, application/json;q=0.1', false],
  ])('%s → %s', (accept, expected) => {
    expect(prefersJson(accept)).toBe(expected);
  });
});

describe('errorResponse', () => {
  it('renders JSON in the API error shape when asked', () => {
    const res = errorResponse(NO_HEALTHY_UPSTREAM, 'application/json', 'rid-1');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'no_healthy_upstream', message: NO_HEALTHY_UPSTREAM.message } });
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
  });

  it('renders a small HTML page otherwise, escaping the request id', () => {
    const res = errorResponse(UNKNOWN_HOST, 'text/html', '<x>');
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<h1>404 Not Found</h1>');
    expect(res.body).not.toContain('<x>');
  });

  it('renders raw HTTP for upgrade sockets', () => {
    expect(rawErrorResponse(UNKNOWN_HOST, undefined, 'r')).toMatch(
      /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*connection: close\r\n\r\n<!doctype html>/,
    );
  });
});
