import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { type EdgeProxy, responseOnSocket } from '@pier/proxy';

/** Client-side limits of the public listeners. */
const CLIENT_LIMITS = {
  /** Idle keep-alive connections from clients are closed after this long. */
  keepAliveTimeout: 5_000,
  /** A client must send complete request headers within this. */
  headersTimeout: 30_000,
  /** …and the whole request (body included) within this; long uploads stream faster than that. */
  requestTimeout: 300_000,
};

export interface PublicServerOptions {
  /** TLS settings (certificates through SNI): an HTTPS listener instead of plain HTTP. */
  tls?: HttpsOptions;
  /**
   * Runs before the edge proxy on every request, upgrades included; returns
   * true when it has answered (an ACME challenge, a redirect to HTTPS) and
   * false to let the proxy route the request (it may set response headers
   * first). An upgrade it answers is closed after the answer.
   */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * A public listener serving the edge proxy: plain HTTP, or HTTPS with `tls`;
 * the proxy reads the scheme from the socket.
 */
export function createPublicServer(edge: EdgeProxy, options: PublicServerOptions = {}): Server {
  const server: Server = options.tls ? createHttpsServer({ ...CLIENT_LIMITS, ...options.tls }) : createServer(CLIENT_LIMITS);
  const { intercept } = options;
  if (intercept) {
    server.on('request', (req, res) => {
      if (!intercept(req, res)) edge.handleRequest(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const res = responseOnSocket(req, socket);
      if (res && !intercept(req, res)) edge.handleUpgrade(req, socket, head, res);
    });
  } else {
    edge.attach(server);
  }
  // A malformed request or a reset while reading one: answer 400 if possible, never throw.
  // A failed TLS handshake (a scanner, an old client): nothing to answer.
  server.on('tlsClientError', (_err: Error, socket: { destroy(): void }) => socket.destroy());
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

/**
 * Stops accepting, lets in-flight requests finish (responses now close their
 * connections) for at most `timeoutMs`, then cuts what is left.
 */
export async function closeGracefully(server: Server, edge: EdgeProxy, timeoutMs: number): Promise<void> {
  edge.drain();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = Date.now() + timeoutMs;
  while (edge.inFlight > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.closeIdleConnections();
  }
  server.closeAllConnections();
  edge.closeTunnels();
  await closed;
}
