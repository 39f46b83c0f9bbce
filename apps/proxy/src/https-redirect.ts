import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostFromHeader, type RouteTable, requestHost } from '@pier/proxy';
import type { CertificateBook } from './tls-certificates.ts';

/** HSTS as sent when an environment turns it on: a year, no preload (that is the owner's decision). */
export const HSTS_VALUE = 'max-age=31536000';

/**
 * The location a plain HTTP request is redirected to, or null when it is
 * served over HTTP: only for a routed hostname whose environment keeps the
 * redirect on and that has a valid certificate right now.
 */
export function httpsLocation(
  req: IncomingMessage,
  routes: RouteTable,
  book: CertificateBook,
  httpsPort: number,
  now: Date = new Date(),
): string | null {
  const hostname = hostFromHeader(requestHost(req.headers));
  if (!hostname || hostname.startsWith('[')) return null;
  const route = routes.lookup(hostname);
  if (!route || route.httpsRedirect === false || !book.hasValid(hostname, now)) return null;
  const target = req.url?.startsWith('/') ? req.url : '/';
  return `https://${hostname}${httpsPort === 443 ? '' : `:${httpsPort}`}${target}`;
}

/** Answers with a permanent redirect that keeps the method and body (308). */
export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(308, { location, 'content-type': 'text/plain', 'content-length': '0', 'cache-control': 'no-store' });
  res.end();
}

/** Sets Strict-Transport-Security on an HTTPS response when the route asks for it. */
export function addHsts(req: IncomingMessage, res: ServerResponse, routes: RouteTable): void {
  if (routes.lookup(requestHost(req.headers))?.hsts) res.setHeader('strict-transport-security', HSTS_VALUE);
}
