import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PierError } from '@pier/core';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';

/** The CLI bundle is not on this server (not built): 503 with what to run. */
class CliNotBuiltError extends PierError {
  readonly code = 'cli_not_built';
}

/**
 * The server's version, who a token is, and the `pier` CLI itself: one
 * JavaScript file any Node.js 20+ runs, so a laptop downloads it from its
 * own Pier (`curl -fsSL https://<control host>/cli -o pier`).
 */
export function metaRoutes(deps: Pick<ApiDeps, 'apps' | 'cliBundlePath'>, version: string) {
  let cached: { mtimeMs: number; body: Buffer; etag: string } | undefined;
  const readBundle = async () => {
    const path = deps.cliBundlePath;
    const info = path ? await stat(path).catch(() => undefined) : undefined;
    if (!path || !info) throw new CliNotBuiltError('the CLI is not built on this server: run `npm run build:cli` there');
    if (cached?.mtimeMs !== info.mtimeMs) {
      const body = await readFile(path);
      cached = { mtimeMs: info.mtimeMs, body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
    }
    return cached;
  };
  return [
    route({
      method: 'GET',
      url: '/version',
      summary: "The server's version (the `pier` CLI warns when its own differs)",
      tag: 'meta',
      auth: false,
      response: z.object({ version: z.string(), cli: z.string().describe('where the matching CLI is downloaded') }),
      handler: async () => ({ version, cli: '/cli' }),
    }),
    route({
      method: 'GET',
      url: '/whoami',
      summary: 'What the calling token is: an admin token, or an app token and its app',
      tag: 'meta',
      response: z.object({
        role: z.enum(['admin', 'app']),
        app: z.string().nullable().describe('the one app an app token sees'),
        tokenId: z.string().nullable().describe('null for PIER_ADMIN_TOKEN'),
        version: z.string(),
      }),
      handler: async ({ principal }) => {
        if (principal.role === 'admin') return { role: 'admin' as const, app: null, tokenId: principal.tokenId, version };
        const app = await deps.apps.byId(principal.appId);
        return { role: 'app' as const, app: app.name, tokenId: principal.tokenId, version };
      },
    }),
    route({
      method: 'GET',
      url: '/cli',
      summary: 'The `pier` CLI: one JavaScript file for Node.js 20+ (`curl -fsSL …/cli -o pier && chmod +x pier`)',
      tag: 'meta',
      auth: false,
      handler: async ({ request, reply }) => {
        const bundle = await readBundle();
        reply.header('cache-control', 'no-cache');
        reply.header('etag', bundle.etag);
        if (request.headers['if-none-match'] === bundle.etag) return reply.code(304).send();
        reply.header('content-type', 'application/javascript; charset=utf-8');
        reply.header('content-disposition', 'attachment; filename="pier"');
        return reply.send(bundle.body);
      },
    }),
  ];
}
