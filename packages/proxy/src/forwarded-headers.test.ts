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

  // Pier is the first hop: whatever a client says about where it came from is forged.
  it.each<[string, Record<string, string>, Record<string, string | undefined>]>([
    [
      'replaces a client X-Forwarded-For with the TCP peer',
      { 'x-forwarded-for': '10.0.0.1' },
      { 'x-forwarded-for': '198.51.100.4' },
    ],
    [
      'replaces X-Forwarded-Proto, -Host and X-Request-Id',
      { host: 'web.pier.test', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'admin.example.org', 'x-request-id': 'spoof' },
      { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'web.pier.test', 'x-request-id': 'rid' },
    ],
    [
      'drops a client X-Forwarded-Host when there is no Host',
      { 'x-forwarded-host': 'admin.example.org' },
      { 'x-forwarded-host': undefined },
    ],
    ['drops Forwarded', { forwarded: 'for=10.0.0.1;proto=https' }, { forwarded: undefined }],
    ['drops X-Real-IP', { 'x-real-ip': '10.0.0.1' }, { 'x-real-ip': undefined }],
    ['drops X-Forwarded-Port', { 'x-forwarded-port': '443' }, { 'x-forwarded-port': undefined }],
    ['drops X-Forwarded-Prefix', { 'x-forwarded-prefix': '/admin' }, { 'x-forwarded-prefix': undefined }],
    [
      'keeps what only looks alike',
      { 'x-forwarded-for-app': 'a', 'x-real-ip-note': 'b' },
      { 'x-forwarded-for-app': 'a', 'x-real-ip-note': 'b' },
    ],
  ])('%s', (_name, incoming, expected) => {
    const out = upstreamRequestHeaders(incoming, context);
    for (const [name, value] of Object.entries(expected)) expect(out[name], name).toBe(value);
  });

  it('turns an HTTP/2 request into HTTP/1.1 headers: no pseudo-headers, Host from :authority', () => {
    const out = upstreamRequestHeaders(
      { ':method': 'GET', ':scheme': 'https', ':authority': 'web.pier.test:8443', ':path': '/a?b', 'user-agent': 'h2' },
      context,
    );
    expect(out).toEqual({
      'user-agent': 'h2',
      host: 'web.pier.test:8443',
      'x-forwarded-for': '198.51.100.4',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'web.pier.test:8443',
      'x-request-id': 'rid',
    });
  });

  it('keeps a Host an HTTP/2 client sent besides :authority (the one routed by)', () => {
    const out = upstreamRequestHeaders({ ':authority': 'other.pier.test', host: 'web.pier.test' }, context);
    expect(out.host).toBe('web.pier.test');
    expect(out['x-forwarded-host']).toBe('web.pier.test');
    expect(out[':authority']).toBeUndefined();
  });

  it('keeps Upgrade and Connection: Upgrade for WebSocket handshakes only', () => {
    const incoming = { connection: 'Upgrade', upgrade: 'websocket', 'x-forwarded-for': '10.0.0.1' };
    expect(upstreamRequestHeaders(incoming, { ...context, upgrade: true })).toMatchObject({
      connection: 'Upgrade',
      upgrade: 'websocket',
      'x-forwarded-for': '198.51.100.4',
    });
    const plain = upstreamRequestHeaders({ connection: 'Upgrade', upgrade: 'h2c' }, context);
    expect(plain.connection).toBeUndefined();
    expect(plain.upgrade).toBeUndefined();
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

  it('drops every header Node refuses on an HTTP/2 response', () => {
    const raw = [
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'h2c',
      'Proxy-Connection',
      'keep-alive',
      'HTTP2-Settings',
      'AAMAAABkAAQAAP__',
    ];
    expect(clientResponseHeaders([...raw, 'TE', 'gzip', 'Content-Type', 'text/plain'], 'ours')).toEqual([
      'Content-Type',
      'text/plain',
      'x-request-id',
      'ours',
    ]);
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
