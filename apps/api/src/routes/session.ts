import {
  adminTokenFingerprint,
  csrfTokenFor,
  ForbiddenError,
  type Principal,
  sessionCookieName,
  UnauthorizedError,
} from '@pier/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { assertSameOrigin, assertSameSiteChange, principalOfToken, sessionCookie, sessionPrincipal } from '../http/auth.ts';
import { route } from '../http/route-kit.ts';
import { SourceRateLimit } from '../http/source-rate-limit.ts';

export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const signInBody = z.object({ token: z.string().min(1, 'token: paste an API token').max(512) });

const sessionResponse = z.object({
  role: z.enum(['admin', 'app']),
  app: z.string().nullable().describe('the one app an app token sees'),
  csrfToken: z.string().describe('send it back in `x-csrf-token` with every change made with the session cookie'),
  expiresAt: z.string(),
  version: z.string(),
});

/**
 * The dashboard's sign-in: an API token exchanged for a session cookie
 * (`HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS, with an expiry). The
 * token itself is never stored in the browser; signing out revokes the session.
 */
export function sessionRoutes(deps: ApiDeps, version: string) {
  const ttlMs = deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const limit = new SourceRateLimit({ perMinute: deps.signInRateLimitPerMinute ?? 30, what: 'sign-in attempts' });

  async function present(principal: Principal, secret: string, expiresAt: Date) {
    const app = principal.role === 'app' ? (await deps.apps.byId(principal.appId)).name : null;
    return { role: principal.role, app, csrfToken: csrfTokenFor(secret), expiresAt: expiresAt.toISOString(), version };
  }

  return [
    route({
      method: 'POST',
      url: '/session',
      summary: 'Sign in to the dashboard: exchanges an API token for a session cookie (the token is not kept)',
      tag: 'session',
      auth: false,
      body: signInBody,
      status: 201,
      response: sessionResponse,
      handler: async ({ body, request, reply }) => {
        assertSameOrigin(request);
        // Over plain HTTP only from this machine (or through an SSH tunnel): elsewhere the token would cross the network in clear.
        if (request.protocol !== 'https' && !isLoopback(request.ip))
          throw new ForbiddenError(
            'token: sign in over HTTPS (or through an SSH tunnel to the api); a token sent over plain HTTP crosses the network in clear',
          );
        limit.take(request.ip);
        const principal = await principalOfToken(body.token.trim(), deps).catch(() => {
          throw new UnauthorizedError('token: unknown or revoked');
        });
        // Signing in again replaces the session this browser had: the old one is revoked, not left live.
        const previous = sessionCookie(request);
        if (previous) await deps.sessions.revoke(previous);
        const { secret, row } = await deps.sessions.create({
          tokenId: principal.tokenId,
          appId: principal.role === 'app' ? principal.appId : null,
          adminFingerprint: principal.tokenId === null ? adminTokenFingerprint(deps.adminToken) : null,
          expiresAt: new Date(Date.now() + ttlMs),
        });
        setSessionCookie(request, reply, secret, ttlMs);
        return present(principal, secret, row.expiresAt);
      },
    }),
    route({
      method: 'GET',
      url: '/session',
      summary:
        'The signed-in session: who it is and its CSRF token (for the dashboard after a reload); 204 when the request carries no live session',
      tag: 'session',
      auth: false,
      response: sessionResponse,
      otherStatuses: { 204: 'no live session: sign in' },
      handler: async ({ request, reply }) => {
        // Open, so that the dashboard asks "am I signed in?" without an error in the browser's console.
        const secret = sessionCookie(request);
        const row = secret ? await deps.sessions.resolve(secret) : null;
        const principal = row && secret ? sessionPrincipal(row, deps.adminToken) : null;
        if (!secret || !row || !principal) {
          if (secret) clearSessionCookie(request, reply);
          return reply.code(204).send();
        }
        reply.header('cache-control', 'no-store');
        return present(principal, secret, row.expiresAt);
      },
    }),
    route({
      method: 'DELETE',
      url: '/session',
      summary: 'Sign out: revokes the session and clears its cookie',
      tag: 'session',
      auth: false,
      status: 204,
      handler: async ({ request, reply }) => {
        // Open without a live session, so that a stale cookie is cleared too; a live one needs its CSRF token.
        const secret = sessionCookie(request);
        if (secret && (await deps.sessions.resolve(secret))) {
          assertSameSiteChange(request, secret);
          await deps.sessions.revoke(secret);
        }
        clearSessionCookie(request, reply);
      },
    }),
  ];
}

function cookieAttributes(request: FastifyRequest): string {
  return `Path=/; HttpOnly; SameSite=Strict${request.protocol === 'https' ? '; Secure' : ''}`;
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, secret: string, ttlMs: number): void {
  const name = sessionCookieName(request.protocol);
  reply.header('set-cookie', `${name}=${secret}; Max-Age=${Math.floor(ttlMs / 1000)}; ${cookieAttributes(request)}`);
  reply.header('cache-control', 'no-store');
}

function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', `${sessionCookieName(request.protocol)}=; Max-Age=0; ${cookieAttributes(request)}`);
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
function isLoopback(ip: string): boolean {
  return ip === '::1' || /^(::ffff:)?127\./.test(ip);
}
