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
