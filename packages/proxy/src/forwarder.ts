import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RouteUpstream } from '@pier/core';
import type { RouteCdn } from './edge-cdn.ts';

/** What the proxy has decided about a request before handing it to the data path. */
export interface ForwardRequest {
  /** Headers for the upstream (see `upstreamRequestHeaders`). */
  headers: IncomingHttpHeaders;
  /** Put on the response as `X-Request-Id`. */
  requestId: string;
  /** The route's CDN role (compression, cache), when the edge has one; a data path without it forwards bodies as they are. */
  cdn?: RouteCdn;
}

/**
 * How one attempt ended, as far as the caller needs to know:
 * - `responded`: the upstream's status and headers went to the client (the
 *   body streams on; the data path ends or destroys the response itself);
 * - `not-sent`: the connection to the upstream failed before any byte of the
 *   request was written; safe to try another upstream; nothing was written to
 *   the client;
 * - `timeout`: no response headers within the response timeout;
 * - `failed`: the upstream broke after the request was (partly) sent;
 * - `client-gone`: the client went away first.
 * For every kind except `responded` the client response is untouched.
 */
export type ForwardOutcome =
  | { kind: 'responded'; status: number; headersMs: number }
  | { kind: 'not-sent'; error: Error }
  | { kind: 'timeout' }
  | { kind: 'failed'; error: Error }
  | { kind: 'client-gone' };

/**
 * How a WebSocket handshake ended:
 * - `tunnelled`: the upstream answered 101, the client has it, and the two
 *   sockets are spliced until either closes or the tunnel idles out;
 * - `answered`: the upstream answered anything else; that answer is being
 *   relayed on the response and the connection closes after it, so bytes the
 *   client sent behind its handshake are never forwarded;
 * - `not-sent`, `timeout`, `failed`, `client-gone`: as for `ForwardOutcome`;
 *   the client response is untouched.
 */
export type UpgradeOutcome =
  | { kind: 'tunnelled' }
  | { kind: 'answered'; status: number }
  | { kind: 'not-sent'; error: Error }
  | { kind: 'timeout' }
  | { kind: 'failed'; error: Error }
  | { kind: 'client-gone' };

export interface DataPathTimeouts {
  /** Connecting to an upstream fails after this long (then another upstream is tried). */
  connectTimeoutMs: number;
  /** Time allowed until the upstream's response headers; past it the client gets a 504. */
  responseTimeoutMs: number;
  /** A response body that stalls this long is cut off. */
  idleTimeoutMs: number;
  /**
   * Idle keep-alive connections to upstreams are closed after this long. Keep
   * it below the upstreams' own keep-alive timeout (Node's default is 5 s) so
   * the proxy never sends a request on a socket the upstream is closing.
   */
  keepAliveTimeoutMs: number;
  /** A WebSocket tunnel with no byte either way for this long is closed (both sockets). */
  tunnelIdleTimeoutMs: number;
}

export const DEFAULT_TIMEOUTS: DataPathTimeouts = {
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 4_000,
  tunnelIdleTimeoutMs: 600_000,
};

/**
 * The data path: moves one request to one upstream and the response back,
 * streaming both ways. Implementations: `UndiciForwarder`, `HttpProxyForwarder`.
 * The edge proxy picks upstreams, retries and writes its own error pages.
 */
export interface Forwarder {
  /** Resolves once the response has started (or the attempt failed); never rejects. */
  forward(req: IncomingMessage, res: ServerResponse, upstream: RouteUpstream, request: ForwardRequest): Promise<ForwardOutcome>;
  /**
   * Sends a WebSocket handshake to the upstream; on its 101, relays it and
   * splices the sockets (`head`, the bytes the client sent behind its
   * handshake, goes only then); on any other answer, relays that on `res` (a
   * response on `socket`, see `responseOnSocket`). Never rejects.
   */
  upgrade(
    req: IncomingMessage,
    res: ServerResponse,
    socket: Duplex,
    head: Buffer,
    upstream: RouteUpstream,
    request: ForwardRequest,
  ): Promise<UpgradeOutcome>;
  /** Drops pooled connections to upstreams not in `upstreams` (after their requests finish). */
  retain(upstreams: readonly RouteUpstream[]): void;
  /** Closes pooled connections and open tunnels. */
  close(): Promise<void>;
}

const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** Errors that, raised before the request was written, mean the upstream could not be reached. */
export function isConnectError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECT_ERROR_CODES.has(code);
}

/** Defaults for every timeout the caller leaves out (or passes as undefined). */
export function resolveTimeouts(options: Partial<DataPathTimeouts>): DataPathTimeouts {
  return {
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectTimeoutMs,
    responseTimeoutMs: options.responseTimeoutMs ?? DEFAULT_TIMEOUTS.responseTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_TIMEOUTS.idleTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? DEFAULT_TIMEOUTS.keepAliveTimeoutMs,
    tunnelIdleTimeoutMs: options.tunnelIdleTimeoutMs ?? DEFAULT_TIMEOUTS.tunnelIdleTimeoutMs,
  };
}

/**
 * A request with a body: a non-zero Content-Length or any Transfer-Encoding;
 * over HTTP/2, where a body needs neither, a stream its headers did not end.
 */
export function hasRequestBody(req: Pick<IncomingMessage, 'headers'>): boolean {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) return true;
  return length === undefined && (req as { stream?: { endAfterHeaders: boolean } }).stream?.endAfterHeaders === false;
}

export function upstreamKey(upstream: RouteUpstream): string {
  return `${upstream.host}:${upstream.port}`;
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
