import type { IncomingHttpHeaders } from 'node:http';
import { canonicalHostname } from '@pier/core';

export { canonicalHostname, hostnamesFor, PRODUCTION_ENV } from '@pier/core';

/**
 * The hostname a `Host` header names: lower-case, port and trailing dot
 * stripped; an IPv6 literal keeps its brackets. Empty when there is none.
 */
export function hostFromHeader(header: string | undefined): string {
  if (!header) return '';
  let host = header.trim();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return canonicalHostname(host);
}

/**
 * The host a request names: its `Host` header, or over HTTP/2, where clients
 * send the `:authority` pseudo-header instead (RFC 9113 §8.3.1), that. Every
 * route lookup, redirect and challenge reads the host through this, so the
 * host a request was routed by is the one forwarded as `Host`.
 */
export function requestHost(headers: IncomingHttpHeaders): string | undefined {
  return headers.host ?? (headers[':authority'] as string | undefined);
}
