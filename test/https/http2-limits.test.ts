import { constants } from 'node:http2';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { closeGracefully } from '../../apps/proxy/src/public-server.ts';
import {
  firstGoaway,
  frame,
  goaway,
  h2Connect,
  h2Get,
  http1Tls,
  readUntil,
  streamClosed,
  useHttp2Proxy,
  WEB,
} from './http2-harness.ts';

const proxy = useHttp2Proxy();

describe('HTTP/2 shutdown and limits', () => {
  it('ends sessions on graceful close: a GOAWAY, requests in flight finish, idle sessions close', async () => {
    const own = await proxy.ownListener();
    const busy = await h2Connect(own.port);
    const idle = await h2Connect(own.port);
    const old = await http1Tls(own.port);
    old.write(`GET /kept-alive HTTP/1.1\r\nHost: ${WEB}\r\n\r\n`);
    await readUntil(old, (t) => t.endsWith('hello /kept-alive'));
    const oldClosed = new Promise((resolve) => old.once('close', resolve));
    const [busyGoaway, idleGoaway] = [goaway(busy), goaway(idle)];
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    const inFlight = h2Get(busy, '/slow/in-flight');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const closing = closeGracefully(own.server, own.edge, 5_000);
    expect(await busyGoaway).toBe(constants.NGHTTP2_NO_ERROR);
    expect(await idleGoaway).toBe(constants.NGHTTP2_NO_ERROR);
    const answer = await inFlight;
    expect([answer.headers[':status'], answer.body]).toEqual([200, 'slow /slow/in-flight']);
    await closing;
    await Promise.all([idleClosed, oldClosed]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(busy.closed || busy.destroyed).toBe(true);
    await expect(h2Connect(own.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('while draining, answers a request on an open session and sends the session a GOAWAY', async () => {
    const own = await proxy.ownListener();
    const client = await h2Connect(own.port);
    const away = goaway(client);
    own.edge.drain();
    expect((await h2Get(client, '/while-draining')).body).toBe('hello /while-draining');
    expect(await away).toBe(constants.NGHTTP2_NO_ERROR);
    client.destroy();
    await closeGracefully(own.server, own.edge, 1_000);
  });

  it('closes an idle HTTP/1.1 keep-alive connection on the HTTPS port after its keep-alive timeout', async () => {
    const own = await proxy.ownListener();
    const socket = await http1Tls(own.port);
    socket.write(`GET /keep-alive HTTP/1.1\r\nHost: ${WEB}\r\n\r\n`);
    await readUntil(socket, (t) => t.endsWith('hello /keep-alive'));
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeGreaterThan(4_000);
    expect(Date.now() - started).toBeLessThan(8_000);
    await closeGracefully(own.server, own.edge, 1_000);
  });

  it('sends an idle session a GOAWAY after the idle timeout', async () => {
    const own = await proxy.ownListener({ sessionIdleTimeoutMs: 200 });
    const client = await h2Connect(own.port);
    const away = goaway(client);
    expect((await h2Get(client, '/before-idle')).headers[':status']).toBe(200);
    const started = Date.now();
    expect(await away).toBe(constants.NGHTTP2_NO_ERROR);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    client.destroy();
    await closeGracefully(own.server, own.edge, 1_000);
  });

  it('resets a stream whose request body is not complete within the request timeout', async () => {
    const own = await proxy.ownListener({ requestTimeoutMs: 300 });
    const client = await h2Connect(own.port);
    const upload = client.request({ ':method': 'POST', ':path': '/upload/trickle', ':authority': WEB });
    upload.write('a few bytes, then nothing');
    const started = Date.now();
    expect(await streamClosed(upload)).toBe(constants.NGHTTP2_CANCEL);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await h2Get(client, '/after-trickle')).body).toBe('hello /after-trickle');
    client.destroy();
    await closeGracefully(own.server, own.edge, 1_000);
  });

  it('takes up to 256 header fields and 32 KiB of headers, and refuses a request with more', async () => {
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-field-${i}`, 'v']));
    const client = await proxy.session();
    expect((await h2Get(client, '/fields/200', WEB, fields(200))).headers[':status']).toBe(200);
    expect((await h2Get(client, '/fields/12k', WEB, { 'x-large': 'v'.repeat(12 * 1024) })).headers[':status']).toBe(200);
    const tooMany = client.request({ ':path': '/fields/300', ':authority': WEB, ...fields(300) });
    expect(await streamClosed(tooMany)).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    const other = await proxy.session();
    const tooLarge = other.request({ ':path': '/fields/40k', ':authority': WEB, 'x-large': 'v'.repeat(40 * 1024) });
    expect(await streamClosed(tooLarge)).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(proxy.app.seen.has('/fields/300') || proxy.app.seen.has('/fields/40k')).toBe(false);
    expect((await h2Get(await proxy.session(), '/after-fields')).body).toBe('hello /after-fields');
  });
});

describe('HTTP/2 floods', () => {
  it('ends a session that opens and resets streams in a loop (rapid reset), and serves others meanwhile', async () => {
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connectTls({
        host: '127.0.0.1',
        port: proxy.port,
        servername: WEB,
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false,
      });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    socket.on('error', () => {});
    expect(socket.alpnProtocol).toBe('h2');
    // GET https://web.pier.test/flood in HPACK: indexed :method GET, :scheme https; :path and :authority literal.
    const block = Buffer.concat([
      Buffer.from([0x82, 0x87, 0x04, 6]),
      Buffer.from('/flood'),
      Buffer.from([0x01, WEB.length]),
      Buffer.from(WEB),
    ]);
    const frames = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(0x4, 0, 0)];
    const streams = 3_000;
    for (let i = 0; i < streams; i++) {
      const id = 1 + 2 * i;
      frames.push(frame(0x1, 0x5, id, block), frame(0x3, 0, id, Buffer.from([0, 0, 0, constants.NGHTTP2_CANCEL])));
    }
    const answer = firstGoaway(socket);
    const before = proxy.app.floods;
    socket.write(Buffer.concat(frames));
    // nghttp2's budget: 1,000 client resets at once, then GOAWAY(INTERNAL_ERROR).
    expect(await answer).toBe(constants.NGHTTP2_INTERNAL_ERROR);
    // Meanwhile another client is served promptly: reset streams neither reach the app nor hold its connections.
    const started = Date.now();
    expect((await h2Get(await proxy.session(), '/during-flood')).body).toBe('hello /during-flood');
    expect(Date.now() - started).toBeLessThan(3_000);
    // A stream reset before its request is sent upstream is dropped (one or two may get through first).
    expect(proxy.app.floods - before).toBeLessThan(50);
    socket.destroy();
  });
});
