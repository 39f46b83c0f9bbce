import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2Session } from 'node:http2';

/**
 * What differs for a request that came over HTTP/2 (Node's compatibility
 * `Http2ServerRequest`, handled as an `IncomingMessage`). Each helper checks
 * `httpVersionMajor` first, so HTTP/1.1 requests pay one comparison.
 */

/**
 * The HTTP/2 session a request came on (null when it is already gone), or
 * undefined over HTTP/1.1. A stream lets go of its session when it closes,
 * so whatever needs the session at the end takes it at the start.
 */
export function sessionOf(req: IncomingMessage): Http2Session | null | undefined {
  if (req.httpVersionMajor !== 2) return undefined;
  return (req as unknown as Http2ServerRequest).stream.session ?? null;
}

/** The socket a session's streams share, or null once the session is gone. */
export function sessionSocket(session: Http2Session | null): IncomingMessage['socket'] | null {
  return session && !session.destroyed ? (session.socket as IncomingMessage['socket']) : null;
}

/**
 * Tells the client to take its next requests elsewhere: `Connection: close`
 * over HTTP/1.1; over HTTP/2 a GOAWAY, after which the session's open
 * streams finish and new ones go to a new connection.
 */
export function endKeepAlive(req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersionMajor === 2) (req as unknown as Http2ServerRequest).stream.session?.close();
  else res.shouldKeepAlive = false;
}
