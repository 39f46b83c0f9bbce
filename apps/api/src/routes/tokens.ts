import { assertAdmin, NotFoundError } from '@pier/core';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { tokenResponse } from '../presenters.ts';
import { createTokenBody, tokenParams } from '../schemas.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function presentToken(view: Awaited<ReturnType<ApiDeps['tokens']['list']>>[number]) {
  return { ...view, createdAt: view.createdAt.toISOString(), lastUsedAt: view.lastUsedAt?.toISOString() ?? null };
}

export function tokenRoutes({ apps, tokens }: ApiDeps) {
  return [
    route({
      method: 'POST',
      url: '/tokens',
      summary: 'Create an API token; the token is in this response only',
      tag: 'tokens',
      body: createTokenBody,
      status: 201,
      response: tokenResponse.extend({ token: z.string() }),
      handler: async ({ body, principal }) => {
        assertAdmin(principal, 'create tokens');
        const appId = body.app ? (await apps.get(principal, body.app)).id : null;
        const { token, view } = await tokens.create(body.name, appId);
        return { ...presentToken(view), token };
      },
    }),
    route({
      method: 'GET',
      url: '/tokens',
      summary: 'List live tokens (never their values)',
      tag: 'tokens',
      response: z.object({ tokens: z.array(tokenResponse) }),
      handler: async ({ principal }) => {
        assertAdmin(principal, 'list tokens');
        return { tokens: (await tokens.list()).map(presentToken) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/tokens/:id',
      summary: 'Revoke a token',
      tag: 'tokens',
      params: tokenParams,
      status: 204,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'revoke tokens');
        if (!UUID.test(params.id)) throw new NotFoundError(`token ${params.id} not found`);
        await tokens.revoke(params.id);
      },
    }),
  ];
}
