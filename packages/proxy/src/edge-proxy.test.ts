import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataPathTimeouts, Forwarder } from './forwarder.ts';
import { HttpProxyForwarder } from './http-proxy-forwarder.ts';
import {
  deadPort,
  listen,
  route,
  send,
  sendRaw,
  startEchoUpstream,
  startEdge,
  startUpstream,
  startWebSocketEcho,
  statusLines,
  type TestServer,
} from './testing/servers.ts';
import { UndiciForwarder } from './undici-forwarder.ts';

const forwarders: [string, (timeouts?: Partial<DataPathTimeouts>) => Forwarder][] = [
  ['undici', (timeouts) => new UndiciForwarder(timeouts)],
  ['http-proxy', (timeouts) => new HttpProxyForwarder(timeouts)],
];

const started: TestServer[] = [];
async function track<T extends TestServer>(server: Promise<T>): Promise<T> {
  const s = await server;
  started.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe.each(forwarders)('EdgeProxy on %s', (_name, makeForwarder) => {
  it('routes by Host and answers 404 for unknown hosts, as HTML or JSON', async () => {
    const [a, b] = await Promise.all([track(startEchoUpstream('a')), track(startEchoUpstream('b'))]);
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        routes: [
          route('web', 'production', ['web.pier.test'], [a.upstream()]),
          route('api', 'staging', ['api-staging.pier.test', 'api.example.org'], [b.upstream()]),
        ],
      }),
    );
    expect(JSON.parse((await send(edge.port, 'WEB.pier.test:80')).body).upstream).toBe('a');
    expect(JSON.parse((await send(edge.port, 'api.example.org.')).body).upstream).toBe('b');
    const html = await send(edge.port, 'nope.pier.test');
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('404 Not Found');
    const json = await send(edge.port, 'nope.pier.test', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(JSON.parse(json.body)).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  it('rotates over upstreams round robin', async () => {
    const ups = await Promise.all(['a', 'b', 'c'].map((n) => track(startEchoUpstream(n))));
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        routes: [
          route(
            'web',
            'production',
            ['web.pier.test'],
            ups.map((u) => u.upstream()),
          ),
        ],
      }),
    );
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(JSON.parse((await send(edge.port, 'web.pier.test')).body).upstream);
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('retries a connect failure on the other upstream: 0 failed requests with one of two down', async () => {
    const live = await track(startEchoUpstream('live'));
    const dead = { id: 'dead', host: '127.0.0.1', port: await deadPort() };
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        routes: [route('web', 'production', ['web.pier.test'], [dead, live.upstream('live')])],
      }),
    );
    const results = await Promise.all(Array.from({ length: 40 }, () => send(edge.port, 'web.pier.test')));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(results.every((r) => JSON.parse(r.body).upstream === 'live')).toBe(true);
    expect(edge.metrics.render()).toMatch(/pier_proxy_upstream_retries_total [1-9]/);
  });

  it('retries an idempotent request whose connection broke before any answer on the other upstream, never a POST', async () => {
    const live = await track(startEchoUpstream('live'));
    // Accepts, reads the request, closes without answering: a replica killed behind Docker's port forwarder.
    const dying = await track(startUpstream((req) => req.socket.destroy()));
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        routes: [route('web', 'production', ['web.pier.test'], [dying.upstream('dying'), live.upstream('live')])],
      }),
    );
    const gets = await Promise.all(Array.from({ length: 20 }, () => send(edge.port, 'web.pier.test')));
    expect(gets.map((r) => r.status)).toEqual(gets.map(() => 200));
    expect(gets.every((r) => JSON.parse(r.body).upstream === 'live')).toBe(true);
    const posts = await Promise.all(
      Array.from({ length: 4 }, () => send(edge.port, 'web.pier.test', { method: 'POST', body: 'once only' })),
    );
    expect(posts.map((r) => r.status).sort()).toEqual([200, 200, 502, 502]);
  });

  it('answers 502 when every upstream refuses the connection', async () => {
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        routes: [route('web', 'production', ['web.pier.test'], [{ id: 'd', host: '127.0.0.1', port: await deadPort() }])],
      }),
    );
    const res = await send(edge.port, 'web.pier.test', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body).error.code).toBe('bad_gateway');
  });

  it('answers 503 when no upstream is healthy, as HTML or JSON', async () => {
    const up = await track(startEchoUpstream('a'));
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        health: { isHealthy: () => false },
        routes: [
          route('web', 'production', ['web.pier.test'], [up.upstream()]),
          route('api', 'production', ['api.pier.test'], []),
        ],
      }),
    );
    const html = await send(edge.port, 'web.pier.test');
    expect(html.status).toBe(503);
    expect(html.body).toContain('503 Service Unavailable');
    const json = await send(edge.port, 'api.pier.test', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(503);
    expect(JSON.parse(json.body).error.code).toBe('no_healthy_upstream');
    expect(up.openSockets()).toBe(0);
  });

  it('answers 504 when the upstream does not answer in time, as HTML or JSON', async () => {
    const hung = await track(startUpstream(() => {}));
    const edge = await track(
      startEdge({
        forwarder: makeForwarder({ responseTimeoutMs: 300 }),
        routes: [route('web', 'production', ['web.pier.test'], [hung.upstream()])],
      }),
    );
    const started = Date.now();
    const html = await send(edge.port, 'web.pier.test');
    expect(html.status).toBe(504);
    expect(html.body).toContain('504 Gateway Timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
    const json = await send(edge.port, 'web.pier.test', { headers: { accept: 'application/json' } });
    expect(JSON.parse(json.body).error.code).toBe('upstream_timeout');
  });

  it('sets X-Forwarded-For/-Proto/-Host, drops hop-by-hop headers and the client forwarding headers', async () => {
    const up = await track(startEchoUpstream('a'));
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [up.upstream()])] }),
    );
    const plain = JSON.parse(
      (await send(edge.port, 'web.pier.test:8080', { headers: { 'x-secret-hop': '1', connection: 'x-secret-hop' } })).body,
    );
    expect(plain.headers).toMatchObject({
      host: 'web.pier.test:8080',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'web.pier.test:8080',
    });
    expect(plain.headers['x-secret-hop']).toBeUndefined();
    const forged = JSON.parse(
      (
        await send(edge.port, 'web.pier.test', {
          headers: { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7', 'x-real-ip': '203.0.113.7' },
        })
      ).body,
    );
    expect(forged.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(forged.headers.forwarded).toBeUndefined();
    expect(forged.headers['x-real-ip']).toBeUndefined();
  });

  it('keeps a safe incoming X-Request-Id, replaces an unsafe one, and returns it', async () => {
    const up = await track(startEchoUpstream('a'));
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [up.upstream()])] }),
    );
    const kept = await send(edge.port, 'web.pier.test', { headers: { 'x-request-id': 'abc-123.def' } });
    expect(JSON.parse(kept.body).headers['x-request-id']).toBe('abc-123.def');
    expect(kept.headers['x-request-id']).toBe('abc-123.def');
    const replaced = await send(edge.port, 'web.pier.test', { headers: { 'x-request-id': 'bad id <script>' } });
    const id = JSON.parse(replaced.body).headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.headers['x-request-id']).toBe(id);
    expect((await send(edge.port, 'nope.pier.test')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('streams a slow chunked response as it arrives', async () => {
    const up = await track(
      startUpstream(async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 3; i++) {
          res.write(`chunk ${i}\n`);
          await sleep(300);
        }
        res.end();
      }),
    );
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [up.upstream()])] }),
    );
    const arrivals = await new Promise<number[]>((resolve, reject) => {
      const t0 = Date.now();
      const times: number[] = [];
      request({ port: edge.port, host: '127.0.0.1', headers: { host: 'web.pier.test' }, agent: false }, (res) => {
        res.on('data', () => times.push(Date.now() - t0));
        res.on('end', () => resolve(times));
      })
        .on('error', reject)
        .end();
    });
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    expect(arrivals[0]).toBeLessThan(250);
    expect(arrivals[2]).toBeGreaterThanOrEqual(500);
  });

  it('streams a large request body to the upstream before the client has sent all of it', async () => {
    let received = 0;
    let firstBytes: () => void = () => {};
    const upstreamGotData = new Promise<void>((resolve) => {
      firstBytes = resolve;
    });
    const up = await track(
      startUpstream((req, res) => {
        req.on('data', (chunk: Buffer) => {
          received += chunk.length;
          firstBytes();
        });
        req.on('end', () => res.end(String(received)));
      }),
    );
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [up.upstream()])] }),
    );
    const chunk = Buffer.alloc(1024 * 1024, 97);
    const total = 32;
    const answer = new Promise<string>((resolve, reject) => {
      const req = request(
        {
          port: edge.port,
          host: '127.0.0.1',
          method: 'POST',
          headers: { host: 'web.pier.test', 'content-length': String(total * chunk.length) },
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.write(chunk);
      // The rest is sent only once the upstream has seen the first megabyte: a buffering proxy would deadlock here.
      upstreamGotData.then(async () => {
        for (let i = 1; i < total; i++) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        req.end();
      }, reject);
    });
    await expect(
      Promise.race([upstreamGotData, sleep(3_000).then(() => Promise.reject(new Error('body was buffered')))]),
    ).resolves.toBeUndefined();
    expect(await answer).toBe(String(total * chunk.length));
  });

  it('lets a long request finish while the route table is replaced', async () => {
    const slow = await track(
      startUpstream((_req, res) => {
        setTimeout(() => res.end('old release'), 3_000);
      }),
    );
    const next = await track(startEchoUpstream('new'));
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [slow.upstream('old')])] }),
    );
    const inFlight = send(edge.port, 'web.pier.test');
    await sleep(200);
    edge.table.replace([route('web', 'production', ['web.pier.test'], [next.upstream('new')])]);
    expect(JSON.parse((await send(edge.port, 'web.pier.test')).body).upstream).toBe('new');
    const old = await inFlight;
    expect(old.status).toBe(200);
    expect(old.body).toBe('old release');
  });

  it('tunnels a WebSocket and echoes messages', async () => {
    const ws = await track(startWebSocketEcho());
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['127.0.0.1'], [ws.upstream()])] }),
    );
    const socket = new WebSocket(`ws://127.0.0.1:${edge.port}/socket`);
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.onerror = () => reject(new Error('websocket error'));
      socket.onopen = () => socket.send('hello');
      socket.onmessage = (event) => {
        replies.push(String(event.data));
        if (replies.length === 1) socket.send('again');
        else resolve();
      };
    });
    socket.close();
    expect(replies).toEqual(['hello', 'again']);
  });

  it('answers an upgrade to anything but WebSocket as one ordinary request, then closes: nothing pipelined is forwarded', async () => {
    const up = await track(startEchoUpstream('a'));
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [up.upstream()])] }),
    );
    const answer = await sendRaw(
      edge.port,
      'GET /first HTTP/1.1\r\nHost: web.pier.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n' +
        'GET /second HTTP/1.1\r\nHost: web.pier.test\r\n\r\n',
    );
    expect(answer.closed).toBe(true);
    expect(statusLines(answer.text)).toEqual(['HTTP/1.1 200 OK']);
    expect(answer.text).toMatch(/\r\nconnection: close\r\n/i);
    const seen = JSON.parse(answer.text.slice(answer.text.indexOf('{'), answer.text.lastIndexOf('}') + 1));
    expect(seen.url).toBe('/first');
    expect(seen.headers.upgrade).toBeUndefined();
    expect(seen.headers['http2-settings']).toBeUndefined();
    await expect.poll(() => edge.metrics.inFlight).toBe(0);
    expect(edge.metrics.render()).toContain('pier_proxy_requests_total{app="web",env="production",code="2xx"} 1');
  });

  it('refuses an upgrade to anything but WebSocket that carries a body with a 400', async () => {
    const up = await track(startEchoUpstream('a'));
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [up.upstream()])] }),
    );
    const answer = await sendRaw(
      edge.port,
      'POST / HTTP/1.1\r\nHost: web.pier.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 41\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n',
    );
    expect(answer.closed).toBe(true);
    expect(statusLines(answer.text)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(up.openSockets()).toBe(0);
  });

  it('relays a WebSocket handshake the upstream refuses, then closes both connections', async () => {
    const refusing = await track(
      startUpstream((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain', 'x-why': 'no sockets' });
        res.end('upgrade refused');
      }),
    );
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [refusing.upstream()])] }),
    );
    const answer = await sendRaw(
      edge.port,
      `${websocketHandshake('web.pier.test')}GET /smuggled HTTP/1.1\r\nHost: web.pier.test\r\n\r\n`,
    );
    expect(answer.closed).toBe(true);
    expect(statusLines(answer.text)).toEqual(['HTTP/1.1 426 Upgrade Required']);
    expect(answer.text).toMatch(/\r\nx-why: no sockets\r\n/i);
    expect(answer.text).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    expect(answer.text).toContain('upgrade refused');
    await expect.poll(() => refusing.openSockets()).toBe(0);
    await expect.poll(() => edge.metrics.tunnelsOpen).toBe(0);
  });

  it('sends the bytes a client pipelined behind its WebSocket handshake only after the upstream answered 101', async () => {
    const heads: number[] = [];
    const ws = await track(
      listen(
        createServer().on('upgrade', (_req, socket: Socket, head: Buffer) => {
          heads.push(head.length);
          socket.on('error', () => {});
          socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
          socket.pipe(socket);
        }),
      ),
    );
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [ws.upstream()])] }),
    );
    const answer = await sendRaw(edge.port, `${websocketHandshake('web.pier.test')}early bytes`, 1_000);
    expect(statusLines(answer.text)).toEqual(['HTTP/1.1 101 Switching Protocols']);
    expect(answer.text.endsWith('\r\n\r\nearly bytes')).toBe(true);
    expect(heads).toEqual([0]);
  });

  it('closes a tunnel idle for tunnelIdleTimeoutMs, and answers 504 when the upstream never answers the handshake', async () => {
    const ws = await track(startWebSocketEcho());
    const silent = await track(
      listen(
        // Reads (and so sees the proxy hang up) but never answers.
        createServer().on('upgrade', (_req, socket: Socket) => {
          socket
            .on('error', () => {})
            .on('end', () => socket.destroy())
            .resume();
        }),
      ),
    );
    const edge = await track(
      startEdge({
        forwarder: makeForwarder({ tunnelIdleTimeoutMs: 300, responseTimeoutMs: 300 }),
        routes: [
          route('web', 'production', ['web.pier.test'], [ws.upstream()]),
          route('silent', 'production', ['silent.pier.test'], [silent.upstream()]),
        ],
      }),
    );
    const started = Date.now();
    const idle = await sendRaw(edge.port, websocketHandshake('web.pier.test'));
    expect(idle.closed).toBe(true);
    expect(statusLines(idle.text)).toEqual(['HTTP/1.1 101 Switching Protocols']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const timedOut = await sendRaw(edge.port, websocketHandshake('silent.pier.test'));
    expect(timedOut.closed).toBe(true);
    expect(statusLines(timedOut.text)).toEqual(['HTTP/1.1 504 Gateway Timeout']);
    await expect.poll(() => silent.openSockets()).toBe(0);
  });

  it('ends its open tunnels on closeTunnels (shutdown), so the client sees the close at once', async () => {
    const ws = await track(startWebSocketEcho());
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['127.0.0.1'], [ws.upstream()])] }),
    );
    const held = new WebSocket(`ws://127.0.0.1:${edge.port}/socket`);
    const closed = new Promise<void>((resolve) => {
      held.onclose = () => resolve();
    });
    await new Promise<void>((resolve, reject) => {
      held.onopen = () => resolve();
      held.onerror = () => reject(new Error('websocket error'));
    });
    expect(edge.metrics.tunnelsOpen).toBe(1);
    edge.proxy.closeTunnels();
    await closed;
    await expect.poll(() => edge.metrics.tunnelsOpen).toBe(0);
  });

  it('holds at most maxTunnels WebSocket connections: the next handshake gets 503', async () => {
    const ws = await track(startWebSocketEcho());
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        maxTunnels: 1,
        routes: [route('web', 'production', ['127.0.0.1'], [ws.upstream()])],
      }),
    );
    const held = new WebSocket(`ws://127.0.0.1:${edge.port}/socket`);
    await new Promise<void>((resolve, reject) => {
      held.onopen = () => resolve();
      held.onerror = () => reject(new Error('websocket error'));
    });
    expect(edge.metrics.tunnelsOpen).toBe(1);
    const refused = await sendRaw(edge.port, websocketHandshake('127.0.0.1'));
    expect(refused.closed).toBe(true);
    expect(statusLines(refused.text)).toEqual(['HTTP/1.1 503 Service Unavailable']);
    expect(edge.metrics.render()).toContain('pier_proxy_tunnels_refused_total 1');
    held.close();
    await expect.poll(() => edge.metrics.tunnelsOpen).toBe(0);
  });

  it('holds at most maxTunnelsPerClient of one client address, and frees its share when they close', async () => {
    const ws = await track(startWebSocketEcho());
    const edge = await track(
      startEdge({
        forwarder: makeForwarder(),
        maxTunnels: 10,
        maxTunnelsPerClient: 1,
        routes: [route('web', 'production', ['127.0.0.1'], [ws.upstream()])],
      }),
    );
    const open = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${edge.port}/socket`);
        socket.onopen = () => resolve(socket);
        socket.onerror = () => reject(new Error('websocket error'));
      });
    const held = await open();
    const refused = await sendRaw(edge.port, websocketHandshake('127.0.0.1'));
    expect(statusLines(refused.text)).toEqual(['HTTP/1.1 503 Service Unavailable']);
    held.close();
    await expect.poll(() => edge.metrics.tunnelsOpen).toBe(0);
    (await open()).close();
  });

  it('refuses an upgrade for an unknown host with a 404', async () => {
    const edge = await track(startEdge({ forwarder: makeForwarder(), routes: [] }));
    const status = await new Promise<number>((resolve, reject) => {
      request({
        port: edge.port,
        host: '127.0.0.1',
        headers: { host: 'x.pier.test', connection: 'Upgrade', upgrade: 'websocket' },
        agent: false,
      })
        .on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('upgrade', () => reject(new Error('upgraded')))
        .on('error', reject)
        .end();
    });
    expect(status).toBe(404);
  });

  it('survives 200 aborted requests without leaking sockets', async () => {
    const slow = await track(
      startUpstream((_req, res) => {
        res.writeHead(200);
        res.write('partial');
        const timer = setTimeout(() => res.end('done'), 2_000);
        res.on('close', () => clearTimeout(timer));
      }),
    );
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [slow.upstream()])] }),
    );
    const handlesBefore = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const req = request({ port: edge.port, host: '127.0.0.1', headers: { host: 'web.pier.test' }, agent: false });
            req.on('error', () => resolve());
            req.on('close', () => resolve());
            // Half abort before any answer, half after the first bytes.
            if (i % 2 === 0) setTimeout(() => req.destroy(), 5);
            else req.on('response', (res) => res.once('data', () => req.destroy()));
            req.end();
          }),
      ),
    );
    await expect.poll(() => edge.openSockets(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => slow.openSockets(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => edge.metrics.inFlight, { timeout: 5_000 }).toBe(0);
    const handlesAfter = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    expect(handlesAfter).toBeLessThanOrEqual(handlesBefore);
    expect((await send(edge.port, 'nope.pier.test')).status).toBe(404);
  });

  it('answers 502 when the upstream resets before answering, and cuts the response when it resets midway', async () => {
    const resetting = await track(
      startUpstream((req, res) => {
        if (req.url === '/early') return req.socket.destroy();
        res.writeHead(200, { 'content-length': '1000' });
        res.write('x'.repeat(100));
        setTimeout(() => req.socket.destroy(), 50);
      }),
    );
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [resetting.upstream()])] }),
    );
    const early = await send(edge.port, 'web.pier.test', { path: '/early', headers: { accept: 'application/json' } });
    expect(early.status).toBe(502);
    expect(JSON.parse(early.body).error.code).toBe('bad_gateway');
    await expect(send(edge.port, 'web.pier.test', { path: '/midway' })).rejects.toThrow();
    expect((await send(edge.port, 'nope.pier.test')).status).toBe(404);
    await expect.poll(() => edge.metrics.inFlight).toBe(0);
  });

  it('counts requests by route and status class, and upstream latency, for /metrics', async () => {
    const up = await track(startEchoUpstream('a'));
    const edge = await track(
      startEdge({ forwarder: makeForwarder(), routes: [route('web', 'production', ['web.pier.test'], [up.upstream()])] }),
    );
    await send(edge.port, 'web.pier.test');
    await send(edge.port, 'web.pier.test');
    await send(edge.port, 'nope.pier.test');
    const text = edge.metrics.render();
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="2xx"} 2');
    expect(text).toContain('pier_proxy_requests_total{app="",env="",code="4xx"} 1');
    expect(text).toContain('pier_proxy_upstream_latency_seconds_count{app="web",env="production"} 2');
    expect(text).toContain('pier_proxy_requests_in_flight 0');
  });

  it('counts each request under its environment and the release of the upstream that answered it, with its bytes', async () => {
    const [a, b] = await Promise.all([track(startEchoUpstream('a')), track(startEchoUpstream('b'))]);
    const web = {
      ...route(
        'web',
        'production',
        ['web.pier.test'],
        [
          { ...a.upstream(), releaseId: 'rel-a' },
          { ...b.upstream(), releaseId: 'rel-b' },
        ],
      ),
      environmentId: 'env-web',
    };
    const empty = { ...route('idle', 'production', ['idle.pier.test'], []), environmentId: 'env-idle' };
    const edge = await track(startEdge({ forwarder: makeForwarder(), routes: [web, empty] }));
    for (let i = 0; i < 4; i++) await send(edge.port, 'web.pier.test');
    expect((await send(edge.port, 'idle.pier.test')).status).toBe(503);
    await expect.poll(() => edge.metrics.inFlight).toBe(0);
    const buckets = edge.metrics.takeBuckets(new Date(0));
    const of = (releaseId: string | null) => buckets.find((x) => x.releaseId === releaseId);
    expect(of('rel-a')).toMatchObject({ environmentId: 'env-web', byClass: [0, 0, 2, 0, 0, 0] });
    expect(of('rel-b')).toMatchObject({ environmentId: 'env-web', byClass: [0, 0, 2, 0, 0, 0] });
    expect(of(null)).toMatchObject({ environmentId: 'env-idle', byClass: [0, 0, 0, 0, 0, 1] });
    expect(of('rel-a')?.latencyBuckets.reduce((sum, n) => sum + n, 0)).toBe(2);
    // Request and response bytes, headers included: at least the request line and the status line.
    expect(of('rel-a')?.bytesIn).toBeGreaterThan(2 * 'GET / HTTP/1.1\r\n'.length);
    expect(of('rel-a')?.bytesOut).toBeGreaterThan(2 * 'HTTP/1.1 200 OK\r\n'.length);
  });
});

describe('EdgeProxy on undici', () => {
  it('retries a POST whose connection failed on the other upstream, body intact', async () => {
    const live = await track(startEchoUpstream('live'));
    const dead = { id: 'dead', host: '127.0.0.1', port: await deadPort() };
    const edge = await track(
      startEdge({
        forwarder: new UndiciForwarder(),
        routes: [route('web', 'production', ['web.pier.test'], [dead, live.upstream('live')])],
      }),
    );
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send(edge.port, 'web.pier.test', { method: 'POST', body: `payload ${i}`, headers: { 'content-type': 'text/plain' } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
  });
});

function websocketHandshake(host: string): string {
  const key = randomBytes(16).toString('base64');
  return `GET /socket HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}
