import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:http2';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HSTS_VALUE } from '../../apps/proxy/src/https-redirect.ts';
import { h2Get, h2Send, http1Tls, readUntil, useHttp2Proxy, WEB } from './http2-harness.ts';

const proxy = useHttp2Proxy();

describe('HTTP/2 to clients, HTTP/1.1 to the app', () => {
  it('negotiates h2 by ALPN and forwards as HTTP/1.1 with Host from :authority and no pseudo-headers', async () => {
    const client = await proxy.session();
    expect(client.alpnProtocol).toBe('h2');
    const answer = await h2Get(client, '/hello?x=1');
    expect(answer.headers[':status']).toBe(200);
    expect(answer.body).toBe('hello /hello?x=1');
    expect(answer.headers['strict-transport-security']).toBe(HSTS_VALUE);
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const request = proxy.app.seen.get('/hello?x=1');
    expect(request?.httpVersion).toBe('1.1');
    expect(request?.method).toBe('GET');
    expect(request?.headers.host).toBe(WEB);
    expect(request?.headers['x-forwarded-proto']).toBe('https');
    expect(request?.headers['x-forwarded-host']).toBe(WEB);
    expect(request?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(Object.keys(request?.headers ?? {}).filter((name) => name.startsWith(':'))).toEqual([]);
  });

  it('speaks HTTP/1.1 on the same port to a client that offers only http/1.1', async () => {
    const socket = await http1Tls(proxy.port);
    expect(socket.alpnProtocol).toBe('http/1.1');
    socket.write(`GET /old HTTP/1.1\r\nHost: ${WEB}\r\nConnection: close\r\n\r\n`);
    const text = await readUntil(socket, (t) => t.endsWith('hello /old'));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text.toLowerCase()).toContain(`strict-transport-security: ${HSTS_VALUE}`);
    expect(proxy.app.seen.get('/old')?.headers['x-forwarded-proto']).toBe('https');
    socket.destroy();
  });

  it('answers 100 concurrent streams on one session', async () => {
    const client = await proxy.session();
    expect(client.remoteSettings.maxConcurrentStreams).toBe(128);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => h2Get(client, `/many/${i}`)));
    expect(answers.map((a) => a.headers[':status'])).toEqual(Array(100).fill(200));
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 100 }, (_, i) => `hello /many/${i}`));
  });

  it('streams a request body to the app', async () => {
    const client = await proxy.session();
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const stream = client.request({
      ':method': 'POST',
      ':path': '/upload',
      ':authority': WEB,
      'content-type': 'application/octet-stream',
    });
    const answer = h2Send(stream);
    for (let offset = 0; offset < body.length; offset += 64 * 1024) stream.write(body.subarray(offset, offset + 64 * 1024));
    stream.end();
    const { headers, body: text } = await answer;
    expect(headers[':status']).toBe(200);
    expect(JSON.parse(text)).toEqual({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    expect(proxy.app.seen.get('/upload')?.method).toBe('POST');
  });

  it('relays a chunked answer with Connection and Keep-Alive headers', async () => {
    const answer = await h2Get(await proxy.session(), '/chunked');
    expect(answer.headers[':status']).toBe(200);
    expect(answer.body).toBe('one,two');
    expect(answer.headers.connection).toBeUndefined();
    expect(answer.headers['keep-alive']).toBeUndefined();
    expect(answer.headers['content-type']).toBe('text/plain');
  });

  it('answers its error pages over HTTP/2: unknown host 404, no upstream 503, JSON on request', async () => {
    const client = await proxy.session();
    const unknown = await h2Get(client, '/', 'nope.pier.test');
    expect(unknown.headers[':status']).toBe(404);
    expect(unknown.body).toContain('404 Not Found');
    const down = await h2Get(client, '/', 'down.pier.test', { accept: 'application/json' });
    expect(down.headers[':status']).toBe(503);
    expect(JSON.parse(down.body).error.code).toEqual(expect.any(String));
    const head = await h2Get(client, '/', 'nope.pier.test', { ':method': 'HEAD' });
    expect(head.headers[':status']).toBe(404);
    expect(head.body).toBe('');
  });

  it('keeps WebSockets on HTTP/1.1 on the HTTPS port', async () => {
    const socket = await http1Tls(proxy.port);
    socket.write(
      'GET /socket HTTP/1.1\r\nHost: chat.pier.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const handshake = await readUntil(socket, (t) => t.includes('\r\n\r\n'));
    expect(handshake).toMatch(/^HTTP\/1\.1 101 /);
    const mask = randomBytes(4);
    const payload = Buffer.from('ping over tls');
    socket.write(
      Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ (mask[i % 4] ?? 0))]),
    );
    const echo = await readUntil(socket, (t) => t.includes('ping over tls'));
    expect(echo.charCodeAt(0)).toBe(0x81);
    socket.destroy();
  });

  it('serves the other streams of a session when the client resets one', async () => {
    const client = await proxy.session();
    const first = h2Get(client, '/slow/1');
    const reset = client.request({ ':path': '/slow/2', ':authority': WEB });
    reset.on('error', () => {});
    const third = h2Get(client, '/slow/3');
    setTimeout(() => reset.close(constants.NGHTTP2_CANCEL), 50);
    const [a, c] = await Promise.all([first, third]);
    expect([a.headers[':status'], a.body]).toEqual([200, 'slow /slow/1']);
    expect([c.headers[':status'], c.body]).toEqual([200, 'slow /slow/3']);
    expect(reset.rstCode).toBe(constants.NGHTTP2_CANCEL);
    expect(proxy.app.seen.has('/slow/2')).toBe(true);
    expect(proxy.app.abandoned).toEqual(new Set(['/slow/2'])); // the proxy gave up its upstream request too
    expect((await h2Get(client, '/after-reset')).body).toBe('hello /after-reset');
  });

  it("counts an HTTP/2 request's bytes from its session's socket", async () => {
    const client = await proxy.session();
    const upload = client.request({ ':method': 'POST', ':path': '/upload/counted', ':authority': 'metered.pier.test' });
    const answer = h2Send(upload);
    upload.end(randomBytes(100_000));
    expect((await answer).headers[':status']).toBe(200);
    expect((await h2Get(client, '/big', 'metered.pier.test')).body).toHaveLength(50_000);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the streams' 'close'
    const counted = (name: string): number =>
      Number(proxy.metrics.render().match(new RegExp(`pier_proxy_${name}_bytes_total\\{[^}]*app="metered"[^}]*\\} (\\d+)`))?.[1]);
    expect(counted('received')).toBeGreaterThanOrEqual(100_000);
    expect(counted('received')).toBeLessThan(110_000);
    expect(counted('sent')).toBeGreaterThanOrEqual(50_000);
    expect(counted('sent')).toBeLessThan(60_000);
  });

  it('talks to curl --http2', async () => {
    const { stdout } = await promisify(execFile)('curl', [
      '--silent',
      '--http2',
      '--insecure',
      '--resolve',
      `${WEB}:${proxy.port}:127.0.0.1`,
      '--write-out',
      '\n%{http_version} %{http_code}',
      `https://${WEB}:${proxy.port}/from-curl`,
    ]);
    expect(stdout).toBe('hello /from-curl\n2 200');
    expect(proxy.app.seen.get('/from-curl')?.headers.host).toBe(`${WEB}:${proxy.port}`);
  });
});
