import { X509Certificate } from 'node:crypto';
import { checkOutboundUrl, DEFAULT_PIER_SERVICE_PORTS, ValidationError } from '@pier/core';
import type { LogDrainKind, LogDrainView } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { appParams, name } from '../schemas.ts';

/** An HTTP header name (RFC 9110 token) and a value with no line breaks. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
const HEADERS_MAX = 20;
const CA_MAX_BYTES = 64 * 1024;

/** Headers Pier sets itself on a drain's POST. */
const OWN_HEADERS = new Set(['content-type', 'content-length', 'host', 'transfer-encoding', 'connection']);

const headers = z
  .record(z.string(), z.string().max(4096))
  .superRefine((value, ctx) => {
    const names = Object.keys(value);
    if (names.length > HEADERS_MAX) ctx.addIssue({ code: 'custom', message: `at most ${HEADERS_MAX} headers` });
    for (const [header, text] of Object.entries(value)) {
      if (!HEADER_NAME.test(header)) ctx.addIssue({ code: 'custom', path: [header], message: 'must be an HTTP header name' });
      else if (OWN_HEADERS.has(header.toLowerCase())) ctx.addIssue({ code: 'custom', path: [header], message: 'is set by Pier' });
      if (/[\r\n\0]/.test(text)) ctx.addIssue({ code: 'custom', path: [header], message: 'must not contain line breaks' });
    }
  })
  .describe('sent with each POST of an https drain (e.g. an Authorization header); stored sealed, never shown');

const createDrainBody = z.strictObject({
  name: name,
  url: z
    .string()
    .max(2048)
    .describe(
      'https://… (a POST of a JSON array of lines), syslog+tls://host:port (RFC 5424 over TLS); ' +
        'plain syslog://127.0.0.1:port and http:// only to loopback, for admin tokens. Stored sealed; shown as scheme://host:port',
    ),
  headers: headers.optional(),
  ca: z
    .string()
    .max(CA_MAX_BYTES)
    .optional()
    .describe('PEM certificate(s) trusted for the endpoint instead of Node’s bundled CAs (an operator’s own CA)'),
});
const drainParams = appParams.extend({ drain: name });

const drainView = z.object({
  name: z.string(),
  kind: z.enum(['syslog', 'https']),
  target: z.string().describe('scheme://host:port: the URL without credentials, path or query'),
  delivered: z.number(),
  dropped: z.number().describe('lines skipped because the drain fell too far behind'),
  lagLines: z.number().describe('lines stored and not yet delivered'),
  lastDeliveredAt: z.string().nullable(),
  failingSince: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
});

export function presentDrain(drain: LogDrainView) {
  return {
    ...drain,
    lastDeliveredAt: drain.lastDeliveredAt?.toISOString() ?? null,
    failingSince: drain.failingSince?.toISOString() ?? null,
    createdAt: drain.createdAt.toISOString(),
  };
}

/** Refuses a `ca` that holds no readable certificate. */
function checkCa(ca: string | undefined): void {
  if (ca === undefined) return;
  try {
    new X509Certificate(ca);
  } catch {
    throw new ValidationError('body.ca: must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)', 'body.ca');
  }
}

/**
 * An app's log drains: where every line of its environments is forwarded.
 * The api checks and stores them (the URL sealed); the worker's forwarder
 * sends. An app token manages its own app's drains, to public endpoints only:
 * loopback and private-network targets (and plain syslog to loopback) are
 * for admin tokens.
 */
export function logDrainRoutes(deps: ApiDeps) {
  const { apps, logDrains } = deps;
  const reservedPorts = deps.reservedPorts ?? DEFAULT_PIER_SERVICE_PORTS;
  return [
    route({
      method: 'POST',
      url: '/apps/:app/drains',
      summary: 'Add a log drain: every line of the app’s environments forwarded to a syslog (RFC 5424) or HTTPS endpoint',
      tag: 'logs',
      params: appParams,
      body: createDrainBody,
      status: 201,
      response: drainView,
      handler: async ({ params, body, principal }) => {
        const app = await apps.get(principal, params.app);
        const url = checkOutboundUrl(body.url, {
          field: 'body.url',
          use: 'drain',
          allowLoopback: principal.role === 'admin',
          reservedPorts,
        });
        const kind: LogDrainKind = url.scheme === 'https' || url.scheme === 'http' ? 'https' : 'syslog';
        if (body.headers && kind !== 'https') {
          throw new ValidationError('body.headers: only an https drain sends headers', 'body.headers');
        }
        checkCa(body.ca);
        const config = {
          url: url.url.href,
          ...(body.headers ? { headers: body.headers } : {}),
          ...(body.ca ? { ca: body.ca } : {}),
        };
        const row = await logDrains.create({ appId: app.id, name: body.name, kind, config, target: url.target });
        const [created] = (await logDrains.list(app.id)).filter((d) => d.name === row.name);
        return presentDrain(created as LogDrainView);
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/drains',
      summary: 'The app’s log drains with their state: delivered, dropped, lag, failing since, last error',
      tag: 'logs',
      params: appParams,
      response: z.object({ drains: z.array(drainView) }),
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        return { drains: (await logDrains.list(app.id)).map(presentDrain) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/drains/:drain',
      summary: 'Remove a log drain (lines not yet sent are not sent)',
      tag: 'logs',
      params: drainParams,
      status: 204,
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        await logDrains.delete(app.id, params.drain);
      },
    }),
  ];
}
