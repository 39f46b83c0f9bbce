import { readFileSync } from 'node:fs';
import { repoConfigJsonSchema } from '@pier/core';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDeps } from './deps.ts';
import { installAuth } from './http/auth.ts';
import { installErrorHandler, sendFrameworkError } from './http/error-handler.ts';
import { openApiDocument } from './http/openapi.ts';
import { requestId } from './http/request-id.ts';
import { registerRoutes, route } from './http/route-kit.ts';
import { appRoutes } from './routes/apps.ts';
import { backupRoutes } from './routes/backups.ts';
import { changeRoutes } from './routes/changes.ts';
import { cronRoutes } from './routes/cron.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { domainRoutes } from './routes/domains.ts';
import { environmentLogRoutes } from './routes/environment-logs.ts';
import { environmentRoutes } from './routes/environments.ts';
import { eventRoutes, recordQuotaRefusals } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { linkRoutes } from './routes/links.ts';
import { logDrainRoutes } from './routes/log-drains.ts';
import { metaRoutes } from './routes/meta.ts';
import { metricRoutes } from './routes/metrics.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { overviewRoutes } from './routes/overview.ts';
import { processRoutes } from './routes/processes.ts';
import { releaseRoutes } from './routes/releases.ts';
import { runRoutes } from './routes/runs.ts';
import { serviceRoutes } from './routes/services.ts';
import { sessionRoutes } from './routes/session.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { variableRoutes } from './routes/variables.ts';
import { volumeRoutes } from './routes/volumes.ts';
import { registerWebhookRoute, webhookRouteDoc } from './routes/webhooks.ts';

/**
 * JSON bodies; an empty body is no body (clients that always send
 * `Content-Type: application/json` still get their DELETE through).
 */
function parseJsonBody(_request: unknown, body: string | Buffer, done: (err: Error | null, value?: unknown) => void): void {
  const text = body.toString();
  if (text.trim() === '') {
    done(null, undefined);
    return;
  }
  try {
    done(null, JSON.parse(text));
  } catch (err) {
    done(Object.assign(new Error((err as Error).message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }));
  }
}

/** The repository's version: the api reports it (`GET /version`, `x-pier-version`) and the CLI bundle carries it. */
export const API_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Bodies above this are refused with 413 before they are read in full. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

/** The control-plane API. main.ts wires real dependencies; tests call `inject()`. */
export function buildApp(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: requestId,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Above the longest identifier (a 255-character variable key), so each is refused by its own validator.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: sendFrameworkError,
    // Pier's own proxy, on loopback, is the only hop whose X-Forwarded-For is believed (it sets it from the socket):
    // request.ip is then the client, for the webhooks' rate limit; any other peer is the client itself.
    trustProxy: ['127.0.0.1', '::1'],
  });
  // JSON only: fastify's default text/plain parser would hand a string to the body schemas (422, not 415).
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-pier-version', API_VERSION);
  });
  installErrorHandler(app);
  recordQuotaRefusals(app, deps);
  installAuth(app, {
    adminToken: deps.adminToken,
    tokens: deps.tokens,
    sessions: deps.sessions,
    ...(deps.streamRecheckMs ? { streamRecheckMs: deps.streamRecheckMs } : {}),
  });

  const specs = [
    ...healthRoutes(deps),
    ...metaRoutes(deps, API_VERSION),
    ...sessionRoutes(deps, API_VERSION),
    ...changeRoutes(deps),
    ...appRoutes(deps),
    ...overviewRoutes(deps),
    ...environmentRoutes(deps),
    ...processRoutes(deps),
    ...variableRoutes(deps),
    ...tokenRoutes(deps),
    ...deploymentRoutes(deps),
    ...releaseRoutes(deps),
    ...environmentLogRoutes(deps),
    ...domainRoutes(deps),
    ...serviceRoutes(deps),
    ...backupRoutes(deps),
    ...linkRoutes(deps),
    ...runRoutes(deps),
    ...cronRoutes(deps),
    ...volumeRoutes(deps),
    ...logDrainRoutes(deps),
    ...eventRoutes(deps),
    ...metricRoutes(deps),
    ...notificationRoutes(deps),
    ...dashboardRoutes(deps),
  ];
  const pierJsonSchema = repoConfigJsonSchema();
  const schemaRoute = route({
    method: 'GET',
    url: '/schemas/pier.json',
    summary: 'The JSON Schema of pier.json, the settings an app keeps in its repository (for editors: "$schema")',
    tag: 'meta',
    auth: false,
    handler: async ({ reply }) => {
      reply.header('content-type', 'application/schema+json; charset=utf-8');
      return pierJsonSchema;
    },
  });
  const document = openApiDocument([...specs, schemaRoute, webhookRouteDoc], API_VERSION);
  registerWebhookRoute(app, deps);
  registerRoutes(app, [
    ...specs,
    schemaRoute,
    route({
      method: 'GET',
      url: '/openapi.json',
      summary: 'This document',
      tag: 'meta',
      auth: false,
      handler: async () => document,
    }),
  ]);
  return app;
}
