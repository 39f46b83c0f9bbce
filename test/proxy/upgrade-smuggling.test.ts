import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Route, SecretBox } from '@pier/core';
import { writeSnapshot } from '@pier/proxy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CertificateSnapshot, certificateSnapshotPath } from '../../apps/proxy/src/tls-certificate-snapshot.ts';
import { createFallbackCertificate } from '../../apps/proxy/src/tls-fallback.ts';
import { sendRaw, statusLines } from '../../packages/proxy/src/testing/servers.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';

/**
 * "No way around the proxy", against the real proxy process: an upgrade is a
 * tunnel only for a WebSocket the upstream accepts (101); anything else is one
 * request, answered, and the connection closed, so bytes pipelined behind the
 * head never reach an upstream unparsed. Forwarding headers come from the
 * proxy alone, upgrades on port 80 meet the ACME responder and the HTTPS
 * redirect first, and tunnels have an idle timeout and a cap.
 */

/** Forwarding headers a client may forge; an upstream must only see the proxy's. */
const FORGED = [
  'X-Forwarded-For: 203.0.113.66',
  'Forwarded: for=203.0.113.66;proto=https',
  'X-Real-IP: 203.0.113.66',
  'X-Forwarded-Port: 443',
  'X-Forwarded-Prefix: /admin',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: admin.example.org',
];
const TUNNEL_IDLE_MS = 1_500;
const MAX_TUNNELS = 2;

interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

let lenient: RawUpstream;
let echo: HttpServer;
let echoPort: number;
/** Each handshake the WebSocket upstream saw, and how many bytes came with its head (none: the proxy waits for the 101). */
const echoSeen: (SeenRequest & { headBytes: number })[] = [];
let dir: string;
let proxy: TestProxy;

beforeAll(async () => {
  lenient = await startLenientUpstream();
  echo = createHttpServer((_req, res) => res.end('plain'));
  echo.on('upgrade', (req, socket: Socket, head: Buffer) => {
    echoSeen.push({ method: req.method ?? '', url: req.url ?? '', headers: flat(req.headers), headBytes: head.length });
    socket.on('error', () => {});
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;

  dir = await mkdtemp(join(tmpdir(), 'pier-upgrade-'));
  const snapshot = join(dir, 'routes.json');
  const routes: Route[] = [
    route('web', ['web.pier.test'], lenient.port),
    route('ws', ['ws.pier.test'], echoPort),
    route('secure', ['secure.pier.test'], lenient.port),
  ];
  await writeSnapshot(snapshot, routes);
  // A valid certificate for secure.pier.test only, so plain HTTP to it is redirected to HTTPS.
  const secretKey = randomBytes(32);
  const pair = await createFallbackCertificate('secure.pier.test');
  await new CertificateSnapshot(certificateSnapshotPath(snapshot), new SecretBox(secretKey)).save([
    {
      hostname: 'secure.pier.test',
      certificatePem: pair.cert,
      privateKeyPem: pair.key,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 24 * 3600_000),
    },
  ]);
  // Postgres unreachable: routes and certificates come from the snapshots.
  proxy = await startTestProxy('postgres://nobody:nothing@127.0.0.1:1/none', {
    PIER_PROXY_KEY: secretKey.toString('base64'),
    PIER_PROXY_SNAPSHOT: snapshot,
    PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS: String(TUNNEL_IDLE_MS),
    PIER_PROXY_MAX_TUNNELS: String(MAX_TUNNELS),
    // One process, so the cap is exact (several split it between them).
    PIER_PROXY_PROCESSES: '1',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await lenient?.close();
  echo?.closeAllConnections();
  await new Promise((resolve) => echo?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('upgrades through the proxy process', () => {
  beforeEach(() => {
    lenient.seen.length = 0;
  });

  it('answers a request behind `Upgrade: foo` as one request: the pipelined one and forged forwarding headers never reach the upstream', async () => {
    const answer = await sendRaw(
      proxy.httpPort,
      head('GET /first', 'web.pier.test', ['Connection: Upgrade', 'Upgrade: foo', ...FORGED]) +
        head('GET /smuggled', 'web.pier.test', FORGED),
    );
    expect(answer.closed).toBe(true);
    expect(statusLines(answer.text)).toEqual(['HTTP/1.1 200 OK']);
    expect(answer.text).toContain('seen /first');
    await expectOnlyProxiedRequests(['/first']);
    const first = lenient.seen.find((r) => r.url === '/first');
    expect(first?.headers.upgrade).toBeUndefined();
    expectProxyForwardingHeaders(first, 'web.pier.test');
  });

  it('relays a refused WebSocket handshake and closes: nothing pipelined behind it reaches the upstream', async () => {
    const answer = await sendRaw(
      proxy.httpPort,
      head('GET /chat', 'web.pier.test', [...websocketHeaders(), ...FORGED]) + head('GET /smuggled', 'web.pier.test', FORGED),
    );
    expect(answer.closed).toBe(true);
    expect(statusLines(answer.text)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(answer.text).toContain('no websocket here');
    await expectOnlyProxiedRequests(['/chat']);
    const chat = lenient.seen.find((r) => r.url === '/chat');
    expect(chat?.headers.upgrade).toBe('websocket');
    expectProxyForwardingHeaders(chat, 'web.pier.test');
  });

  it('tunnels a WebSocket the upstream accepts, bytes sent early only after its 101, and closes it once idle', async () => {
    const tunnel = await openTunnel(proxy.httpPort, 'ws.pier.test', 'early bytes');
    expect(statusLines(tunnel.head)).toEqual(['HTTP/1.1 101 Switching Protocols']);
    expect(await tunnel.read('early bytes'.length)).toBe('early bytes');
    tunnel.socket.write('more');
    expect(await tunnel.read(4)).toBe('more');
    expectProxyForwardingHeaders(echoSeen.at(-1), 'ws.pier.test');
    expect(echoSeen.at(-1)?.headBytes).toBe(0);
    const idleFrom = Date.now();
    await tunnel.closed;
    expect(Date.now() - idleFrom).toBeGreaterThanOrEqual(TUNNEL_IDLE_MS - 100);
  });

  it(`holds at most ${MAX_TUNNELS} tunnels: the next upgrade gets 503, and /metrics counts them`, async () => {
    await expect.poll(() => tunnelsOpen(), { timeout: 10_000 }).toBe(0);
    const tunnels = [await openTunnel(proxy.httpPort, 'ws.pier.test'), await openTunnel(proxy.httpPort, 'ws.pier.test')];
    expect(tunnels.map((t) => statusLines(t.head)[0])).toEqual([
      'HTTP/1.1 101 Switching Protocols',
      'HTTP/1.1 101 Switching Protocols',
    ]);
    expect(await tunnelsOpen()).toBe(MAX_TUNNELS);
    const refused = await sendRaw(proxy.httpPort, head('GET /chat', 'ws.pier.test', websocketHeaders()));
    expect(refused.closed).toBe(true);
    expect(statusLines(refused.text)).toEqual(['HTTP/1.1 503 Service Unavailable']);
    tunnels[0]?.socket.destroy();
    await expect.poll(() => tunnelsOpen(), { timeout: 5_000 }).toBe(1);
    const again = await openTunnel(proxy.httpPort, 'ws.pier.test');
    expect(statusLines(again.head)).toEqual(['HTTP/1.1 101 Switching Protocols']);
    again.socket.destroy();
    tunnels[1]?.socket.destroy();
  });

  it('answers ACME challenges and redirects to HTTPS before any upgrade on port 80', async () => {
    const challenge = await sendRaw(
      proxy.httpPort,
      head('GET /.well-known/acme-challenge/not..a.token', 'web.pier.test', websocketHeaders()),
    );
    expect(challenge.closed).toBe(true);
    expect(statusLines(challenge.text)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(challenge.text).toContain('malformed challenge token');
    const redirected = await sendRaw(proxy.httpPort, head('GET /chat', 'secure.pier.test', websocketHeaders()));
    expect(redirected.closed).toBe(true);
    expect(statusLines(redirected.text)).toEqual(['HTTP/1.1 308 Permanent Redirect']);
    expect(redirected.text).toMatch(/\r\nlocation: https:\/\/secure\.pier\.test:\d+\/chat\r\n/i);
    await expectOnlyProxiedRequests([]);
  });
});

function route(app: string, hostnames: string[], port: number): Route {
  return { app, env: 'production', hostnames, upstreams: [{ id: `${app}-1`, host: '127.0.0.1', port }] };
}

function head(requestLine: string, host: string, headers: readonly string[]): string {
  return `${requestLine} HTTP/1.1\r\nHost: ${host}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
}

function websocketHeaders(): string[] {
  return [
    'Connection: Upgrade',
    'Upgrade: websocket',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
  ];
}

/** What the upstream got, besides health checks, once a request sent after them has arrived (so nothing is still on its way). */
async function expectOnlyProxiedRequests(urls: string[]): Promise<void> {
  const marker = `/after-${randomBytes(4).toString('hex')}`;
  expect((await getViaProxy(proxy.httpPort, 'web.pier.test', marker)).status).toBe(200);
  const seen = lenient.seen.map((r) => r.url).filter((url) => url !== '/health' && !url.startsWith('/after-'));
  expect(seen).toEqual(urls);
}

function expectProxyForwardingHeaders(seen: SeenRequest | undefined, host: string): void {
  expect(seen?.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': host });
  for (const name of ['forwarded', 'x-real-ip', 'x-forwarded-port', 'x-forwarded-prefix']) {
    expect(seen?.headers[name], name).toBeUndefined();
  }
}

async function tunnelsOpen(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
  const match = /^pier_proxy_tunnels_open (\d+)$/m.exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

interface OpenTunnel {
  socket: Socket;
  /** The proxy's answer head. */
  head: string;
  /** Resolves with the next `length` bytes through the tunnel. */
  read(length: number): Promise<string>;
  closed: Promise<void>;
}

/** A WebSocket handshake (with forged forwarding headers and `early` bytes right behind it) on a connection kept open. */
function openTunnel(port: number, host: string, early = ''): Promise<OpenTunnel> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let buffered = '';
    let headText: string | undefined;
    let waiting: { length: number; deliver: (text: string) => void } | undefined;
    const flush = () => {
      if (waiting && buffered.length >= waiting.length) {
        const { length, deliver } = waiting;
        waiting = undefined;
        deliver(buffered.slice(0, length));
        buffered = buffered.slice(length);
      }
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer head within 5 s: ${JSON.stringify(buffered)}`));
    }, 5_000);
    socket.setEncoding('latin1');
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      if (headText === undefined) reject(new Error(`closed before an answer head: ${JSON.stringify(buffered)}`));
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (headText === undefined) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        headText = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        const read = (length: number) =>
          new Promise<string>((deliver, fail) => {
            const bound = setTimeout(() => fail(new Error(`fewer than ${length} bytes within 5 s`)), 5_000);
            waiting = {
              length,
              deliver: (text) => {
                clearTimeout(bound);
                deliver(text);
              },
            };
            flush();
          });
        resolve({ socket, head: headText, read, closed });
      }
      flush();
    });
    socket.write(head('GET /socket', host, [...websocketHeaders(), ...FORGED]) + early);
  });
}

function flat(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = String(value);
  return out;
}

interface RawUpstream {
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * An upstream that ignores `Upgrade` (RFC 9110 §7.8 lets a server) and reads
 * the next request on the same connection, as many servers do (Node's stops
 * reading instead): the kind a tunnel spliced before a 101 smuggles requests
 * to. It answers 400 to WebSocket handshakes and 200 to the rest; requests
 * without bodies only.
 */
async function startLenientUpstream(): Promise<RawUpstream> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const request = parseHead(buffered.slice(0, end));
        buffered = buffered.slice(end + 4);
        seen.push(request);
        const websocket = request.headers.upgrade?.toLowerCase() === 'websocket';
        const body = websocket ? 'no websocket here' : `seen ${request.url}`;
        socket.write(
          `HTTP/1.1 ${websocket ? '400 Bad Request' : '200 OK'}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function parseHead(text: string): SeenRequest {
  const [requestLine = '', ...lines] = text.split('\r\n');
  const [method = '', url = ''] = requestLine.split(' ');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] =
      headers[name] === undefined ? line.slice(colon + 1).trim() : `${headers[name]}, ${line.slice(colon + 1).trim()}`;
  }
  return { method, url, headers };
}
