import { describe, expect, it } from 'vitest';
import { clientAddress, clientResponseHeaders, requestIdFrom, upstreamRequestHeaders } from './forwarded-headers.ts';

const context = { clientAddress: '198.51.100.4', protocol: 'https' as const, requestId: 'rid' };

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers and those named in Connection, keeps Host and end-to-end headers', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'web.pier.test',
        connection: 'keep-alive, x-trace',
        'keep-alive': 'timeout=5',
        'x-trace': '1',
        te: 'trailers',
        expect: '100-continue',
        'transfer-encoding': 'chunked',
        cookie: 'a=1',
      },
      context,
    );
    expect(out).toEqual({
      host: 'web.pier.test',
      cookie: 'a=1',
      'x-forwarded-for': '198.51.100.4',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'web.pier.test',
      'x-request-id': 'rid',
    });
  });

  it('appends the client to X-Forwarded-For and overrides -Proto and X-Request-Id', () => {
    const out = upstreamRequestHeaders(
      { 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'gopher', 'x-request-id': 'spoof' },
      context,
    );
    expect(out['x-forwarded-for']).toBe('10.0.0.1, 198.51.100.4');
    expect(out['x-forwarded-proto']).toBe('https');
    expect(out['x-request-id']).toBe('rid');
  });

  it('keeps Upgrade and Connection: Upgrade for upgrade requests', () => {
    const out = upstreamRequestHeaders({ connection: 'Upgrade', upgrade: 'websocket' }, { ...context, upgrade: true });
    expect(out).toMatchObject({ connection: 'Upgrade', upgrade: 'websocket' });
  });
});

describe('clientResponseHeaders', () => {
  it('keeps repeated headers, drops hop-by-hop ones and sets our request id', () => {
    const raw = [
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      '1',
      'Keep-Alive',
      'timeout=5',
      'X-Request-Id',
      'theirs',
    ];
    expect(clientResponseHeaders(raw, 'ours')).toEqual(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'x-request-id', 'ours']);
  });
});

describe('requestIdFrom / clientAddress', () => {
  it.each([
    ['abc-123', 'abc-123'],
    ['0f1e2d3c-aaaa-bbbb-cccc-000011112222', '0f1e2d3c-aaaa-bbbb-cccc-000011112222'],
  ])('keeps %s', (incoming, expected) => {
    expect(requestIdFrom(incoming)).toBe(expected);
  });
  it.each([[undefined], [''], ['has space'], ['x'.repeat(129)], [['a', 'b']]])('replaces %j with a UUID', (incoming) => {
    expect(requestIdFrom(incoming)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
  });
  it('unwraps IPv4-mapped addresses', () => {
    expect(clientAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress(undefined)).toBe('unknown');
  });
});
