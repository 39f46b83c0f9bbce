import { createHash, createHmac, randomBytes } from 'node:crypto';

/** The cookie that carries a dashboard session's secret over plain HTTP (loopback, an SSH tunnel). */
export const SESSION_COOKIE = 'pier_session';
/**
 * The same over HTTPS: the `__Host-` prefix makes browsers refuse the cookie
 * unless it is Secure, for this host only (no Domain) and for every path, so
 * an app on a sibling subdomain cannot plant one for Pier's hostname.
 */
export const SECURE_SESSION_COOKIE = '__Host-pier_session';

/** The session cookie's name for a request made over `protocol`. */
export function sessionCookieName(protocol: string): string {
  return protocol === 'https' ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}
/** The header every change made with a session cookie must carry (the session's CSRF token). */
export const CSRF_HEADER = 'x-csrf-token';

/** A new session secret: 256 random bits, the cookie's value. */
export function generateSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored of a session secret. */
export function hashSessionSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * The session's CSRF token, derived from its secret (so nothing more is
 * stored): the page reads it from `GET /session`, which another origin cannot
 * read, and sends it back in `x-csrf-token`.
 */
export function csrfTokenFor(secret: string): string {
  return createHmac('sha256', secret).update('pier-csrf').digest('base64url');
}

/** A fingerprint of the bootstrap admin token: sessions made from it end when it changes. */
export function adminTokenFingerprint(adminToken: string): string {
  return createHmac('sha256', adminToken).update('pier-admin-session').digest('hex');
}
