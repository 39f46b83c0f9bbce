import { PierError, RateLimitedError } from '@pier/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** HTTP status of each domain error code; the one place they are mapped. */
const STATUS_BY_CODE: Record<string, number> = {
  validation_failed: 422,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  payload_too_large: 413,
  rate_limited: 429,
  secret_unreadable: 500,
  cli_not_built: 503,
  changes_unavailable: 503,
};

/** Errors raised by fastify itself before a handler runs. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'body: a JSON body is required' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'send JSON with Content-Type: application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_request', message: 'path: not a valid URL (bad percent-encoding)' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'uri_too_long', message: 'path: a path segment is too long' },
};

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * fastify's `frameworkErrors` option: errors raised while routing, before any
 * hook or error handler runs, get the same shape and request id.
 */
export function sendFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = FASTIFY_ERRORS[err.code] ?? { status: 400, code: 'bad_request', message: 'path: not a valid URL' };
  reply.header('x-request-id', request.id);
  reply.code(known.status).send(errorBody(known.code, known.message ?? err.message));
}

/** Maps every error to `{ error: { code, message } }` with the right status. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof PierError) {
      const status = STATUS_BY_CODE[err.code] ?? 500;
      if (status >= 500) request.log.error({ err }, 'request failed');
      // Signed routes (webhooks) are not bearer-token routes.
      if (err.code === 'unauthorized' && request.routeOptions.config.auth !== false) reply.header('www-authenticate', 'Bearer');
      if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds));
      // A body refused unread is not drained afterwards (Node would read it all to keep the connection): close it.
      if (status === 413 || status === 429 || !request.raw.complete) reply.header('connection', 'close');
      const message = status === 500 ? `internal error (request ${request.id})` : err.message;
      return reply.code(status).send(errorBody(err.code, message));
    }
    const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    if (known) {
      const message = known.message ?? (known.code === 'invalid_json' ? `body: malformed JSON (${err.message})` : err.message);
      return reply.code(known.status).send(errorBody(known.code, message));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody('bad_request', err.message));
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send(errorBody('internal_error', `internal error (request ${request.id})`));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
