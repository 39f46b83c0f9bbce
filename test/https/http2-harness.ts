import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as connectH2,
  type IncomingHttpHeaders as H2Headers,
  type Http2SecureServer,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { EdgeProxy, ProxyMetrics, RouteTable, UndiciForwarder } from '@pier/proxy';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Http2Limits } from '../../apps/proxy/src/http2-server.ts';
import { createPublicListeners } from '../../apps/proxy/src/public-listeners.ts';
import { closeGracefully, createPublicServer } from '../../apps/proxy/src/public-server.ts';
import { CertificateBook } from '../../apps/proxy/src/tls-certificates.ts';
import { createFallbackCertificate } from '../../apps/proxy/src/tls-fallback.ts';
import { startWebSocketEcho, type TestServer } from '../../packages/proxy/src/testing/servers.ts';

export const WEB = 'web.pier.test';

/** What the app saw of a request. */
export interface Seen {
  httpVersion: string;
  method: string;
  headers: IncomingHttpHeaders;
}

/** What the app behind the proxy recorded. */
export interface AppRecord {
  /** Each request, by path. */
  seen: Map<string, Seen>;
  /** Paths whose request the proxy gave up before the app answered. */
  abandoned: Set<string>;
  /** Requests of the rapid-reset flood that reached the app. */
  floods: number;
}

/** The app behind the proxy, over HTTP/1.1 on loopback. */
function startApp(record: AppRecord): Server {
  return createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    if (path === '/flood') record.floods++;
    record.seen.set(path, { httpVersion: req.httpVersion, method: req.method ?? '', headers: req.headers });
    if (path.startsWith('/upload')) {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      req.on('end', () => res.end(JSON.stringify({ size, sha256: hash.digest('hex') })));
      return;
    }
    req.resume();
    if (path === '/chunked') {
      // What an HTTP/1.1 app may well send: hop-by-hop headers Node refuses on HTTP/2, and chunks.
      res.writeHead(200, { connection: 'keep-alive', 'keep-alive': 'timeout=5', 'content-type': 'text/plain' });
      res.write('one,');
      setTimeout(() => res.end('two'), 20);
      return;
    }
    if (path === '/big') return void res.end('b'.repeat(50_000));
    if (path.startsWith('/slow')) {
      res.once('close', () => res.writableFinished || record.abandoned.add(path));
      return void setTimeout(() => res.end(`slow ${path}`), 300);
    }
    res.end(`hello ${path}`);
  });
}

export interface H2Answer {
  headers: H2Headers;
  body: string;
}

/** An HTTP/2 session to the proxy, ready once the proxy's SETTINGS are in. */
export function h2Connect(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connectH2(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: WEB });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

/** The answer on a request stream: its response headers and body. */
export function h2Send(stream: ClientHttp2Stream): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    let headers: H2Headers = {};
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      headers = h;
    });
    stream.on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('end', () => resolve({ headers, body }));
    stream.on('error', reject);
  });
}

/** A GET (or `extra[':method']`) on `session` for `authority`. */
export function h2Get(session: ClientHttp2Session, path: string, authority = WEB, extra: H2Headers = {}): Promise<H2Answer> {
  return h2Send(session.request({ ':path': path, ':authority': authority, ...extra }));
}

function listenOn(server: Server | Http2SecureServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server | Http2SecureServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A TLS connection that offers only HTTP/1.1 by ALPN, as an old client (or a WebSocket) does. */
export function http1Tls(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({
      host: '127.0.0.1',
      port,
      servername: WEB,
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads from `socket` until `done` says the text so far is complete. */
export function readUntil(socket: TLSSocket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no complete answer: ${JSON.stringify(text)}`)), 5_000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
}

/** The error code of the GOAWAY the client receives. */
export function goaway(client: ClientHttp2Session): Promise<number> {
  return new Promise((resolve) => client.once('goaway', (code: number) => resolve(code)));
}

/** The RST_STREAM code the stream closes with (NO_ERROR when it ended normally). */
export function streamClosed(stream: ClientHttp2Stream): Promise<number> {
  stream.on('error', () => {});
  stream.resume();
  return new Promise((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1)));
}
/** One raw HTTP/2 frame (RFC 9113 §4.1). */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** The error code of the first GOAWAY frame the server sends on `socket`, or null if it closes without one. */
export function firstGoaway(socket: TLSSocket): Promise<number | null> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        if (buffered[3] === 0x7) return resolve(buffered.readUInt32BE(9 + 4));
        buffered = buffered.subarray(9 + length);
      }
    });
    socket.once('close', () => resolve(null));
  });
}

/** The proxy under test: the real public listeners on loopback, the app, and a WebSocket echo behind them. */
export interface Http2Proxy {
  app: AppRecord;
  metrics: ProxyMetrics;
  edge: EdgeProxy;
  https: Http2SecureServer;
  port: number;
  /** An HTTP/2 session to the proxy, destroyed after the test. */
  session(): Promise<ClientHttp2Session>;
  /** A listener of its own on the same routes (its own edge, which drains for good), with `http2` limits. */
  ownListener(http2?: Partial<Http2Limits>): Promise<{ server: Http2SecureServer; edge: EdgeProxy; port: number }>;
}

/** Starts the proxy before the file's tests and stops it after them. */
export function useHttp2Proxy(): Http2Proxy {
  const record: AppRecord = { seen: new Map(), abandoned: new Set(), floods: 0 };
  const app = startApp(record);
  const table = new RouteTable();
  const forwarder = new UndiciForwarder();
  const metrics = new ProxyMetrics();
  const edge = new EdgeProxy({ routes: table, health: { isHealthy: () => true }, forwarder, metrics });
  const sessions: ClientHttp2Session[] = [];
  let ws: TestServer;
  const proxy: Http2Proxy = {
    app: record,
    metrics,
    edge,
    https: undefined as unknown as Http2SecureServer,
    port: 0,
    session: async () => {
      const s = await h2Connect(proxy.port);
      sessions.push(s);
      return s;
    },
    ownListener: async (http2 = {}) => {
      const book = new CertificateBook(await createFallbackCertificate());
      const own = new EdgeProxy({ routes: table, health: { isHealthy: () => true }, forwarder, metrics: new ProxyMetrics() });
      const server = createPublicServer(own, {
        tls: { SNICallback: book.sniCallback, secureContext: book.contextFor(undefined) },
        http2,
      });
      return { server, edge: own, port: await listenOn(server) };
    },
  };
  beforeAll(async () => {
    const appPort = await listenOn(app);
    ws = await startWebSocketEcho();
    table.replace([
      {
        app: 'web',
        env: 'production',
        hostnames: [WEB],
        upstreams: [{ id: 'web-1', host: '127.0.0.1', port: appPort }],
        hsts: true,
      },
      { app: 'chat', env: 'production', hostnames: ['chat.pier.test'], upstreams: [ws.upstream('chat-1')] },
      { app: 'down', env: 'production', hostnames: ['down.pier.test'], upstreams: [] },
      {
        app: 'metered',
        env: 'production',
        hostnames: ['metered.pier.test'],
        upstreams: [{ id: 'metered-1', host: '127.0.0.1', port: appPort }],
      },
    ]);
    const book = new CertificateBook(await createFallbackCertificate());
    const config = { PIER_HTTPS_PORT: 443, PIER_PUBLIC_HTTPS_PORT: undefined };
    proxy.https = createPublicListeners({ config, edge, table, book }).https;
    proxy.port = await listenOn(proxy.https);
  });
  afterEach(() => {
    for (const s of sessions.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await closeGracefully(proxy.https, edge, 1_000);
    app.closeAllConnections();
    await Promise.all([close(app), ws.close(), forwarder.close()]);
  });
  return proxy;
}
