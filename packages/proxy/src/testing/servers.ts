import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { Route, RouteUpstream } from '@pier/core';
import type { EdgeCdn } from '../edge-cdn.ts';
import { EdgeProxy } from '../edge-proxy.ts';
import type { Forwarder } from '../forwarder.ts';
import type { UpstreamHealth } from '../health-poller.ts';
import { ProxyMetrics } from '../metrics.ts';
import type { RouteHoldOptions } from '../route-hold.ts';
import { RouteTable } from '../route-table.ts';

/** A real HTTP server on 127.0.0.1 that tracks its sockets, for tests. */
export interface TestServer {
  server: Server;
  port: number;
  upstream(id?: string): RouteUpstream;
  /** Sockets open right now. */
  openSockets(): number;
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<TestServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    upstream: (id = `up-${port}`) => ({ id, host: '127.0.0.1', port }),
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An upstream that answers JSON describing the request it saw, named `name`; `/health` answers 200. */
export async function startEchoUpstream(name: string): Promise<TestServer> {
  return listen(
    createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers }));
      });
    }),
  );
}

export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  return listen(createServer(handler));
}

/** A port nothing listens on (a server bound, then closed). */
export async function deadPort(): Promise<number> {
  const server = await listen(createServer());
  await server.close();
  return server.port;
}

export interface TestEdge extends TestServer {
  table: RouteTable;
  metrics: ProxyMetrics;
  proxy: EdgeProxy;
}

/** An EdgeProxy on a real HTTP server on 127.0.0.1. */
export async function startEdge(options: {
  routes: Route[];
  forwarder: Forwarder;
  health?: UpstreamHealth;
  maxTunnels?: number;
  maxTunnelsPerClient?: number;
  hold?: RouteHoldOptions;
  cdn?: EdgeCdn;
}): Promise<TestEdge> {
  const table = new RouteTable();
  table.replace(options.routes);
  const metrics = new ProxyMetrics();
  const proxy = new EdgeProxy({
    routes: table,
    health: options.health ?? { isHealthy: () => true },
    forwarder: options.forwarder,
    metrics,
    maxTunnels: options.maxTunnels,
    maxTunnelsPerClient: options.maxTunnelsPerClient,
    hold: options.hold,
    cdn: options.cdn,
  });
  const server = createServer();
  proxy.attach(server);
  const base = await listen(server);
  return {
    ...base,
    table,
    metrics,
    proxy,
    close: async () => {
      await base.close();
      await options.forwarder.close();
    },
  };
}

export function route(app: string, env: string, hostnames: string[], upstreams: RouteUpstream[]): Route {
  return { app, env, hostnames, upstreams };
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection, with an explicit Host header. */
export function send(
  port: number,
  host: string,
  options: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        agent: false,
        headers: { host, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Writes `bytes` on a fresh connection and collects the answer until the server closes it (or `timeoutMs` passes). */
export function sendRaw(port: number, bytes: string, timeoutMs = 5_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(bytes);
  });
}

/** The status lines in a raw HTTP exchange: one per response. */
export function statusLines(text: string): string[] {
  return text.match(/^HTTP\/1\.1 \d{3} [^\r]*/gm) ?? [];
}

/** A WebSocket server that echoes text frames (just enough of RFC 6455 for small frames). */
export async function startWebSocketEcho(): Promise<TestServer> {
  const server = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const key = String(req.headers['sec-websocket-key']);
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
    );
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => {
      const opcode = (data[0] ?? 0) & 0x0f;
      if (opcode === 0x8) return socket.end(Buffer.from([0x88, 0x00]));
      const length = (data[1] ?? 0) & 0x7f; // small frames only: < 126 bytes
      const mask = data.subarray(2, 6);
      const payload = Buffer.from(data.subarray(6, 6 + length).map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
      socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
    });
  });
  return listen(server);
}
