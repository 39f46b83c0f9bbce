import {
  adminTokenFingerprint,
  CSRF_HEADER,
  csrfTokenFor,
  ForbiddenError,
  type Principal,
  SESSION_COOKIE,
  secretsEqual,
  UnauthorizedError,
} from '@pier/core';
import type { SessionRow, SessionStore, TokenStore } from '@pier/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every route that requires a token. */
    principal: Principal | null;
    /** The dashboard session the request was made with, when it came with the session cookie instead of a token. */
    session: { secret: string; row: SessionRow } | null;
  }
  interface FastifyContextConfig {
    /** false for the few routes open without a token (`/health`, webhooks). */
    auth?: boolean;
  }
}

export interface AuthOptions {
  /** The bootstrap admin token from config. */
  adminToken: string;
  tokens: TokenStore;
  sessions: SessionStore;
}

/** Methods that change nothing: a session may make them without its CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Auth on every route whose config does not say `auth: false`: a bearer
 * token, or the dashboard's session cookie. A change made with the cookie
 * must carry the session's CSRF token and, when the browser says where it
 * comes from, come from this origin.
 */
export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('session', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.auth === false) return;
    request.principal = await authenticate(request, options);
  });
}

async function authenticate(request: FastifyRequest, options: AuthOptions): Promise<Principal> {
  const header = request.headers.authorization;
  if (header) return bearer(header, options);
  const secret = sessionCookie(request);
  if (!secret) throw new UnauthorizedError('authorization: send a token as `Authorization: Bearer <token>`');
  const row = await options.sessions.resolve(secret);
  const principal = row ? sessionPrincipal(row, options.adminToken) : null;
  if (!row || !principal) throw new UnauthorizedError('session: signed out or expired; sign in again');
  if (!SAFE_METHODS.has(request.method)) assertSameSiteChange(request, secret);
  request.session = { secret, row };
  return principal;
}

/** Who a live session is; null when it was made from PIER_ADMIN_TOKEN and that token has changed since. */
export function sessionPrincipal(row: SessionRow, adminToken: string): Principal | null {
  if (row.adminFingerprint !== null && row.adminFingerprint !== adminTokenFingerprint(adminToken)) return null;
  if (row.appId !== null && row.tokenId !== null) return { role: 'app', appId: row.appId, tokenId: row.tokenId };
  return { role: 'admin', tokenId: row.tokenId };
}

async function bearer(header: string, options: AuthOptions): Promise<Principal> {
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  if (!match?.[1]) throw new UnauthorizedError('authorization: expected `Bearer <token>`');
  return principalOfToken(match[1], options);
}

/** Who `token` is: the bootstrap admin, or a live API token (admin or app); 401 otherwise. */
export async function principalOfToken(token: string, options: Pick<AuthOptions, 'adminToken' | 'tokens'>): Promise<Principal> {
  if (secretsEqual(token, options.adminToken)) return { role: 'admin', tokenId: null };
  const resolved = await options.tokens.resolve(token);
  if (!resolved) throw new UnauthorizedError('authorization: the token is unknown or revoked');
  return resolved.appId === null
    ? { role: 'admin', tokenId: resolved.id }
    : { role: 'app', appId: resolved.appId, tokenId: resolved.id };
}

/** The session cookie's value, if the request has one. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const cookies = request.headers.cookie;
  if (!cookies) return undefined;
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** A change made with the session cookie: its CSRF token, and (when the browser sends one) this origin. */
export function assertSameSiteChange(request: FastifyRequest, secret: string): void {
  assertSameOrigin(request);
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !secretsEqual(sent, csrfTokenFor(secret)))
    throw new ForbiddenError(`${CSRF_HEADER}: a change made with the session cookie must carry the session's CSRF token`);
}

/** Refuses a request whose `Origin` header names another origin than the one it was sent to. */
export function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (origin !== `${request.protocol}://${request.host}`) throw new ForbiddenError(`origin: ${origin} may not make changes here`);
}
