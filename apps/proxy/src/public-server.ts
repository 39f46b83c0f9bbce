import { createServer, type Server } from 'node:http';
import type { EdgeProxy } from '@pier/proxy';

/** Client-side limits of the public listeners. */
const CLIENT_LIMITS = {
  /** Idle keep-alive connections from clients are closed after this long. */
  keepAliveTimeout: 5_000,
  /** A client must send complete request headers within this. */
  headersTimeout: 30_000,
  /** …and the whole request (body included) within this; long uploads stream faster than that. */
  requestTimeout: 300_000,
};

/**
 * A public HTTP listener serving the edge proxy. The HTTPS listener (TLS with
 * ACME certificates, its own issue) attaches the same EdgeProxy to an
 * `https.Server`; the proxy reads the scheme from the socket.
 */
export function createPublicServer(edge: EdgeProxy): Server {
  const server = createServer(CLIENT_LIMITS);
  edge.attach(server);
  // A malformed request or a reset while reading one: answer 400 if possible, never throw.
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
  await closed;
}
