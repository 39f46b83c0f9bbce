import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Http2SecureServer, SecureServerOptions } from 'node:http2';
import type { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { type EdgeProxy, responseOnSocket } from '@pier/proxy';
import {
  closeIdleHttp1,
  createHttp2Server,
  cutConnections,
  endSessions,
  type Http1Limits,
  type Http2Limits,
  isHttp2Server,
} from './http2-server.ts';

/** Client-side limits of the public listeners over HTTP/1.1. */
const CLIENT_LIMITS: Http1Limits = {
  /** Idle keep-alive connections from clients are closed after this long. */
  keepAliveTimeout: 5_000,
  /** A client must send complete request headers within this. */
  headersTimeout: 30_000,
  /** …and the whole request (body included) within this; long uploads stream faster than that. */
  requestTimeout: 300_000,
};

/** A public listener: plain HTTP/1.1, or HTTPS speaking HTTP/2 and HTTP/1.1. */
export type PublicServer = Server | Http2SecureServer;

export interface PublicServerOptions {
  /** TLS settings (certificates through SNI): an HTTPS listener instead of plain HTTP. */
  tls?: SecureServerOptions;
  /** HTTP/2 limits other than `HTTP2_LIMITS` (HTTPS only). */
  http2?: Partial<Http2Limits>;
  /**
   * Runs before the edge proxy on every request, upgrades included; returns
   * true when it has answered (an ACME challenge, a redirect to HTTPS) and
   * false to let the proxy route the request (it may set response headers
   * first). An upgrade it answers is closed after the answer. Over HTTP/2 the
   * request and response are Node's compatibility `Http2ServerRequest` and
   * `Http2ServerResponse`, which have the members the proxy uses.
   */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * A public listener serving the edge proxy: plain HTTP/1.1, or with `tls`
 * HTTPS, HTTP/2 to clients that offer it by ALPN and HTTP/1.1 to the rest;
 * the proxy reads the scheme from the socket. Upgrades (WebSocket) exist
 * over HTTP/1.1 only.
 */
export function createPublicServer(
  edge: EdgeProxy,
  options: PublicServerOptions & { tls: SecureServerOptions },
): Http2SecureServer;
export function createPublicServer(edge: EdgeProxy, options?: PublicServerOptions): Server;
export function createPublicServer(edge: EdgeProxy, options: PublicServerOptions = {}): PublicServer {
  const server: NetServer = options.tls
    ? createHttp2Server(options.tls, CLIENT_LIMITS, options.http2)
    : createServer(CLIENT_LIMITS);
  const { intercept } = options;
  server.on(
    'request',
    intercept
      ? (req: IncomingMessage, res: ServerResponse) => {
          if (!intercept(req, res)) edge.handleRequest(req, res);
        }
      : edge.handleRequest,
  );
  server.on(
    'upgrade',
    intercept
      ? (req: IncomingMessage, socket: Duplex, head: Buffer) => {
          const res = responseOnSocket(req, socket);
          if (res && !intercept(req, res)) edge.handleUpgrade(req, socket, head, res);
        }
      : edge.handleUpgrade,
  );
  // A malformed request or a reset while reading one: answer 400 if possible, never throw.
  // A failed TLS handshake (a scanner, an old client): nothing to answer.
  server.on('tlsClientError', (_err: Error, socket: { destroy(): void }) => socket.destroy());
  server.on('clientError', (_err: Error, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server as PublicServer;
}

/**
 * Stops accepting, lets in-flight requests finish (HTTP/1.1 responses now
 * close their connections, HTTP/2 sessions get a GOAWAY) for at most
 * `timeoutMs`, then cuts what is left.
 */
export async function closeGracefully(server: PublicServer, edge: EdgeProxy, timeoutMs: number): Promise<void> {
  edge.drain();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const http2 = isHttp2Server(server);
  if (http2) endSessions(server);
  const closeIdle = (): void => (http2 ? closeIdleHttp1(server) : server.closeIdleConnections());
  closeIdle();
  const deadline = Date.now() + timeoutMs;
  while (edge.inFlight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    closeIdle();
  }
  if (http2) cutConnections(server);
  else server.closeAllConnections();
  edge.closeTunnels();
  await closed;
}
