import {
  adminTokenFingerprint,
  CSRF_HEADER,
  csrfTokenFor,
  ForbiddenError,
  type Principal,
  secretsEqual,
  sessionCookieName,
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
    /** Whether the request's credential still holds (for streams that outlive the request's own check). */
    reauthorize: { check: () => Promise<boolean>; everyMs: number } | null;
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
  /** How often a stream checks its credential again (default 30 s). */
  streamRecheckMs?: number;
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
  app.decorateRequest('reauthorize', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.auth === false) return;
    request.principal = await authenticate(request, options);
  });
}

async function authenticate(request: FastifyRequest, options: AuthOptions): Promise<Principal> {
  const everyMs = options.streamRecheckMs ?? 30_000;
  const header = request.headers.authorization;
  if (header) {
    const principal = await bearer(header, options);
    request.reauthorize = {
      check: () =>
        bearer(header, options).then(
          () => true,
          (err: unknown) => {
            if (err instanceof UnauthorizedError) return false;
            throw err;
          },
        ),
      everyMs,
    };
    return principal;
  }
  const secret = sessionCookie(request);
  if (!secret) throw new UnauthorizedError('authorization: send a token as `Authorization: Bearer <token>`');
  const row = await options.sessions.resolve(secret);
  const principal = row ? sessionPrincipal(row, options.adminToken) : null;
  if (!row || !principal) throw new UnauthorizedError('session: signed out or expired; sign in again');
  if (!SAFE_METHODS.has(request.method)) assertSameSiteChange(request, secret);
  request.session = { secret, row };
  request.reauthorize = {
    check: async () => {
      const live = await options.sessions.resolve(secret);
      return live !== null && sessionPrincipal(live, options.adminToken) !== null;
    },
    everyMs,
  };
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

/**
 * The session cookie's value, if the request has exactly one (named for the
 * request's protocol: `__Host-pier_session` over HTTPS). Two of them mean one
 * was planted (e.g. by a page on a sibling subdomain): neither is used.
 */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const cookies = request.headers.cookie;
  if (!cookies) return undefined;
  const name = sessionCookieName(request.protocol);
  const values = cookies
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
  const [value] = values;
  return values.length === 1 && value && /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
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
