import { type Principal, secretsEqual, UnauthorizedError } from '@pier/core';
import type { TokenStore } from '@pier/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every route that requires a token. */
    principal: Principal | null;
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
}

/** Bearer-token auth on every route whose config does not say `auth: false`. */
export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.auth === false) return;
    request.principal = await authenticate(request, options);
  });
}

async function authenticate(request: FastifyRequest, options: AuthOptions): Promise<Principal> {
  const header = request.headers.authorization;
  if (!header) throw new UnauthorizedError('authorization: send a token as `Authorization: Bearer <token>`');
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  if (!match?.[1]) throw new UnauthorizedError('authorization: expected `Bearer <token>`');
  const token = match[1];
  if (secretsEqual(token, options.adminToken)) return { role: 'admin', tokenId: null };
  const resolved = await options.tokens.resolve(token);
  if (!resolved) throw new UnauthorizedError('authorization: the token is unknown or revoked');
  return resolved.appId === null
    ? { role: 'admin', tokenId: resolved.id }
    : { role: 'app', appId: resolved.appId, tokenId: resolved.id };
}
