import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyErrorKind } from './error-pages.ts';
import { hasRequestBody } from './forwarder.ts';

/**
 * Node hands over the socket of every request that carries `Upgrade` and
 * `Connection: upgrade`, right after its head; whatever follows is unparsed
 * bytes. Only a WebSocket handshake becomes a tunnel (after the upstream's
 * 101); every other such request is answered as one ordinary request on a
 * response written to that socket, which then closes, so bytes pipelined
 * behind the head never reach an upstream.
 */

/** A request behind `Upgrade` with a body: Node leaves the body unparsed, so it is refused rather than forwarded. */
export const UPGRADE_WITH_BODY: ProxyErrorKind = {
  status: 400,
  code: 'bad_request',
  message: 'A request that asks to upgrade the connection cannot carry a body here.',
};

/** The cap on open tunnels is reached. */
export const TOO_MANY_TUNNELS: ProxyErrorKind = {
  status: 503,
  code: 'too_many_connections',
  message: 'The server holds too many open connections right now. Try again shortly.',
};

/**
 * A WebSocket opening handshake as RFC 6455 §4.1 has it: `GET`, `Upgrade:
 * websocket` (any case), `Connection` listing `upgrade`, and no body. Other
 * upgrades (h2c, made-up protocols) are not tunnelled: RFC 9110 §7.8 lets a
 * server ignore `Upgrade` and answer over HTTP/1.1.
 */
export function isWebSocketUpgrade(req: Pick<IncomingMessage, 'method' | 'headers'>): boolean {
  const { upgrade, connection } = req.headers;
  if (req.method !== 'GET' || hasRequestBody(req) || upgrade?.trim().toLowerCase() !== 'websocket') return false;
  return (connection ?? '').split(',').some((token) => token.trim().toLowerCase() === 'upgrade');
}

/**
 * A response written straight to an upgrade request's socket (Node gives
 * none): `Connection: close`, and the socket is closed once the response is
 * sent. The edge proxy writes its answers, an ordinary forwarded response or
 * an upstream's refusal of a WebSocket on it; a tunnel takes the socket back
 * with `res.detachSocket(socket)`. Undefined (the socket destroyed) when an
 * earlier response is still being written on the socket: a client that
 * pipelined an upgrade behind an unanswered request.
 */
export function responseOnSocket(req: IncomingMessage, socket: Duplex): ServerResponse | undefined {
  // Node no longer listens for errors on a socket it handed over; a reset must not throw. 'close' follows.
  socket.on('error', ignoreError);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  try {
    res.assignSocket(socket as Socket);
  } catch {
    socket.destroy();
    return undefined;
  }
  // The server relays 'drain' to its responses through listeners it has removed from this socket.
  socket.on('drain', () => {
    if (res.socket === socket) res.emit('drain');
  });
  res.once('finish', () => {
    if (res.socket === socket) (socket as Socket).destroySoon();
  });
  return res;
}

function ignoreError(): void {}
