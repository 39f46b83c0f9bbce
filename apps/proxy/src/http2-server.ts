import {
  constants,
  createSecureServer,
  type Http2SecureServer,
  Http2ServerResponse,
  type SecureServerOptions,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';

/**
 * Limits of the HTTPS listener's HTTP/2 side (docs/decisions/0001-proxy-data-path.md,
 * "HTTP/2 to clients" says why each). Node 20's own defaults stay for the
 * floods it already bounds: outstanding PINGs and SETTINGS (10 each),
 * refused streams before the session is torn down (100), and nghttp2's
 * budget of client RST_STREAMs (1,000 at once, then 33 a second) against
 * rapid reset, past which the session gets a GOAWAY.
 */
export interface Http2Limits {
  /** Streams one session may have open at once (nginx's default; Node's is unbounded). */
  maxConcurrentStreams: number;
  /** Header fields in one request; browsers send each cookie as a field of its own. */
  maxHeaderListPairs: number;
  /** A request's header list as HPACK counts it (32 bytes more per field): HTTP/1.1's 16 KiB of headers, and room. */
  maxHeaderListSize: number;
  /** Memory (MB) one session may hold in nghttp2 (header tables, queued frames) before new streams are refused. */
  maxSessionMemory: number;
  /** Invalid frames before the session is torn down (Node's default is 1,000): the resets a client provokes. */
  maxSessionInvalidFrames: number;
  /** A session with no frame either way for this long gets a GOAWAY; its open streams still finish. */
  sessionIdleTimeoutMs: number;
  /** A request body must be complete within this, as over HTTP/1.1 (`requestTimeout`). */
  requestTimeoutMs: number;
}

export const HTTP2_LIMITS: Http2Limits = {
  maxConcurrentStreams: 128,
  maxHeaderListPairs: 256,
  maxHeaderListSize: 32 * 1024,
  maxSessionMemory: 10,
  maxSessionInvalidFrames: 100,
  sessionIdleTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
};

/** HTTP/1.1 limits, as an `http.Server` takes them. */
export interface Http1Limits {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
}

/** What a server's connections are, for shutdown: the HTTP/2 sessions, and every TLS socket. */
interface Connections {
  sessions: Set<ServerHttp2Session>;
  sockets: Set<Socket>;
}

const connectionsOf = new WeakMap<Http2SecureServer, Connections>();

/**
 * Node's compatibility response, read as the proxy reads an
 * `http.ServerResponse`: `destroyed` (which Node 20 lacks) is true once the
 * client reset the stream or left, and `writableFinished` only once the
 * response was ended and sent (a reset stream's writable side also counts as
 * finished). The proxy reads them to give up on a client that is gone: not
 * to send its request upstream, to abort the upstream exchange, not to write.
 */
class EdgeHttp2Response extends Http2ServerResponse {}
// On the prototype: Node's types declare both as plain properties.
Object.defineProperties(EdgeHttp2Response.prototype, {
  destroyed: {
    get(this: Http2ServerResponse): boolean {
      return this.stream.destroyed;
    },
  },
  writableFinished: {
    get(this: Http2ServerResponse): boolean {
      return this.writableEnded && this.stream.writableFinished;
    },
  },
});

/**
 * The HTTPS listener: HTTP/2 for clients that offer `h2` by ALPN, HTTP/1.1
 * (WebSocket upgrades included) for the rest, on one port. Node's
 * compatibility API hands HTTP/2 streams to the same 'request' listeners as
 * `Http2ServerRequest`/`Http2ServerResponse`; the HTTP/1.1 connections read
 * `http1` as an `http.Server` would.
 */
export function createHttp2Server(
  tls: SecureServerOptions,
  http1: Http1Limits,
  limits: Partial<Http2Limits> = {},
): Http2SecureServer {
  const { maxConcurrentStreams, maxHeaderListSize, sessionIdleTimeoutMs, requestTimeoutMs, ...sessionLimits } = {
    ...HTTP2_LIMITS,
    ...limits,
  };
  // Node offers ALPN `h2` then `http/1.1` itself with allowHTTP1 (it replaces any ALPNProtocols given).
  const server = createSecureServer({
    ...tls,
    ...sessionLimits,
    allowHTTP1: true,
    Http2ServerResponse: EdgeHttp2Response,
    settings: { maxConcurrentStreams, maxHeaderListSize },
  });
  Object.assign(server, http1);
  const connections: Connections = { sessions: new Set(), sockets: new Set() };
  connectionsOf.set(server, connections);
  server.on('secureConnection', (socket: Socket) => {
    connections.sockets.add(socket);
    socket.once('close', () => connections.sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    connections.sessions.add(session);
    session.once('close', () => connections.sessions.delete(session));
    session.setTimeout(sessionIdleTimeoutMs, () => session.close());
  });
  server.on('stream', (stream: ServerHttp2Stream) => limitRequestTime(stream, requestTimeoutMs));
  return server;
}

/**
 * A stream still receiving its request body after `ms` is reset, so a slow
 * upload cannot hold a stream and its upstream connection for ever. Streams
 * without a body (most) get no timer.
 */
function limitRequestTime(stream: ServerHttp2Stream, ms: number): void {
  if (stream.endAfterHeaders) return;
  const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), ms);
  timer.unref();
  const done = (): void => clearTimeout(timer);
  stream.once('end', done);
  stream.once('close', done);
}

/** Whether `server` is one `createHttp2Server` made. */
export function isHttp2Server(server: object): server is Http2SecureServer {
  return connectionsOf.has(server as Http2SecureServer);
}

/** Sends every HTTP/2 session a GOAWAY: requests in flight finish, new ones go to a new connection. */
export function endSessions(server: Http2SecureServer): void {
  for (const session of connectionsOf.get(server)?.sessions ?? []) session.close();
}

/** Cuts every connection still open, HTTP/2 or HTTP/1.1. */
export function cutConnections(server: Http2SecureServer): void {
  for (const socket of connectionsOf.get(server)?.sockets ?? []) socket.destroy();
}

/** Closes the HTTP/1.1 connections that wait idle between requests (Node tracks them with allowHTTP1). */
export function closeIdleHttp1(server: Http2SecureServer): void {
  (server as Http2SecureServer & { closeIdleConnections(): void }).closeIdleConnections();
}
