import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { requestHost } from './hostnames.ts';

/**
 * Headers that describe one hop, never forwarded (RFC 9110 §7.6.1; `HTTP2-Settings`, RFC 7540 §3.2.1),
 * plus `expect` (Node answers 100-continue itself). Node refuses to send the
 * connection-specific ones on an HTTP/2 response, so dropping them also keeps
 * an upstream's `Connection`, `Keep-Alive` or `Transfer-Encoding` from breaking one.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'http2-settings',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/**
 * Headers that say where a request came from. Pier is the first hop, so a
 * client's own values are forged by definition: dropped, and the proxy sets
 * X-Forwarded-For/-Proto/-Host and X-Request-Id itself.
 */
const CLIENT_FORWARDING = [
  'forwarded',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-request-id',
];

/**
 * HTTP/2 pseudo-headers (RFC 9113 §8.3): the client's request line, in
 * fields. The HTTP/1.1 request to the upstream has its own request line, and
 * `Host` from `:authority`.
 */
const PSEUDO_HEADERS = [':method', ':scheme', ':authority', ':path', ':protocol'];

/** Every request header the upstream never receives from the client as sent: one lookup per header. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, ...CLIENT_FORWARDING, ...PSEUDO_HEADERS]);

/** An incoming X-Request-Id is kept when it looks like an id, so one id follows a request across proxies. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:+=/-]{1,128}$/;

export function requestIdFrom(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The client's address as apps expect to read it (IPv4-mapped IPv6 unwrapped). */
export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
}

export interface ForwardingContext {
  /** The client's address (the TCP peer). */
  clientAddress: string;
  /** Scheme the client used to reach the proxy. */
  protocol: 'http' | 'https';
  requestId: string;
  /** Keep `Connection: upgrade` and `Upgrade`: only for WebSocket handshakes (`isWebSocketUpgrade`). */
  upgrade?: boolean;
}

/**
 * Request headers as the upstream receives them: hop-by-hop headers (and any
 * named in `Connection`) and HTTP/2 pseudo-headers removed, `Host` kept (over
 * HTTP/2, taken from `:authority` when the client sent no `Host`); the client's forwarding
 * headers (`Forwarded`, `X-Real-IP`, `X-Forwarded-*`) dropped, and
 * `X-Forwarded-For` (the TCP peer only), `-Proto`, `-Host` and `X-Request-Id`
 * set by the proxy.
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, context: ForwardingContext): IncomingHttpHeaders {
  const dropped = connectionTokens(incoming.connection);
  const headers: IncomingHttpHeaders = {};
  for (const name in incoming) {
    if (NOT_FORWARDED.has(name) || dropped.has(name)) continue;
    headers[name] = incoming[name];
  }
  headers['x-forwarded-for'] = context.clientAddress;
  headers['x-forwarded-proto'] = context.protocol;
  const host = requestHost(incoming);
  if (host !== undefined) {
    headers.host ??= host;
    headers['x-forwarded-host'] = host;
  }
  headers['x-request-id'] = context.requestId;
  if (context.upgrade && incoming.upgrade) {
    headers.connection = 'Upgrade';
    headers.upgrade = incoming.upgrade;
  }
  return headers;
}

/**
 * Response headers from an upstream's raw list, as a flat `[name, value, …]`
 * list for `writeHead`: hop-by-hop ones removed, `X-Request-Id` set to ours.
 * Repeated headers (`Set-Cookie`) stay repeated.
 */
export function clientResponseHeaders(raw: readonly (Buffer | string)[], requestId: string): string[] {
  const out: string[] = [];
  let dropped: ReadonlySet<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]);
    const lower = name.toLowerCase();
    if (lower === 'connection') dropped = connectionTokens(String(raw[i + 1]));
    if (HOP_BY_HOP.has(lower) || lower === 'x-request-id') continue;
    out.push(name, String(raw[i + 1]));
  }
  if (dropped?.size) return withoutNames(out, dropped).concat('x-request-id', requestId);
  out.push('x-request-id', requestId);
  return out;
}

function withoutNames(flat: string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (!names.has((flat[i] as string).toLowerCase())) out.push(flat[i] as string, flat[i + 1] as string);
  }
  return out;
}

const NO_TOKENS: ReadonlySet<string> = new Set();

/** Header names listed in a Connection header (besides close/keep-alive/upgrade): hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // The common values, without allocating.
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return NO_TOKENS;
  const joined = Array.isArray(value) ? value.join(',') : value;
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token.length > 0 && token !== 'close' && token !== 'keep-alive' && token !== 'upgrade'),
  );
}
