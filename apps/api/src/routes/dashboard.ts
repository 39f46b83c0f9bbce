import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';

/** Nothing but this origin's own files: no inline script or style, no frames, no other hosts. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json; charset=utf-8',
  woff2: 'font/woff2',
  png: 'image/png',
};

/** A built file name: hashed by the build, no path. */
const ASSET = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.([a-z0-9]+)$/;

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Pier</title>
<p>The dashboard is not built on this server: run <code>npm run build:dashboard</code> (or <code>npm run up</code>) there.</p>`;

/**
 * The dashboard: `index.html` at `/` (never cached: it names the hashed
 * files of the current build) and the hashed files under `/assets/`, cached
 * for a year. A file the build precompressed is sent brotli or gzip when the
 * browser accepts it.
 */
export function dashboardRoutes(deps: Pick<ApiDeps, 'dashboardDir'>) {
  return [
    route({
      method: 'GET',
      url: '/',
      summary: 'The web dashboard (sign in with an API token)',
      tag: 'dashboard',
      auth: false,
      handler: async ({ request, reply }) => {
        securityHeaders(reply);
        reply.header('cache-control', 'no-cache');
        reply.header('content-type', 'text/html; charset=utf-8');
        const index = deps.dashboardDir ? await servedFile(request, join(deps.dashboardDir, 'index.html')) : undefined;
        if (!index) return reply.code(503).send(NOT_BUILT);
        if (index.encoding) reply.header('content-encoding', index.encoding);
        reply.header('vary', 'accept-encoding');
        return reply.send(index.body);
      },
    }),
    route<{ file: string }>({
      method: 'GET',
      url: '/assets/:file',
      summary: "The dashboard's built files (hashed names, cached for a year)",
      tag: 'dashboard',
      auth: false,
      params: z.strictObject({ file: z.string().max(200).describe('a file name of the build') }),
      handler: async ({ params, request, reply }) => {
        const name = params.file;
        const match = ASSET.exec(name);
        const type = match ? TYPES[match[2] as string] : undefined;
        const file = type && deps.dashboardDir ? await servedFile(request, join(deps.dashboardDir, 'assets', name)) : undefined;
        securityHeaders(reply);
        if (!file || !type) {
          reply.header('cache-control', 'no-store');
          return reply.code(404).send({ error: { code: 'not_found', message: `assets: ${name} is not part of this build` } });
        }
        reply.header('content-type', type);
        reply.header('cache-control', 'public, max-age=31536000, immutable');
        reply.header('vary', 'accept-encoding');
        if (file.encoding) reply.header('content-encoding', file.encoding);
        return reply.send(file.body);
      },
    }),
  ];
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', DASHBOARD_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
}

/** The file at `path`, or the precompressed copy the build wrote beside it (`.br`, `.gz`) that the client accepts. */
async function servedFile(request: FastifyRequest, path: string): Promise<{ body: Buffer; encoding?: string } | undefined> {
  const accepted = String(request.headers['accept-encoding'] ?? '');
  for (const [encoding, suffix] of [
    ['br', '.br'],
    ['gzip', '.gz'],
  ] as const) {
    if (!new RegExp(`\\b${encoding}\\b`).test(accepted)) continue;
    const body = await readIfFile(path + suffix);
    if (body) return { body, encoding };
  }
  const body = await readIfFile(path);
  return body ? { body } : undefined;
}

async function readIfFile(path: string): Promise<Buffer | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ? readFile(path) : undefined;
}
