import {
  assertAdmin,
  EVENT_KINDS,
  type EventKind,
  isEventKind,
  type Principal,
  QuotaRefusedError,
  refusalDedupeKey,
  ValidationError,
} from '@pier/core';
import type { EventPage, EventQuery, EventRow } from '@pier/db';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { appParams, name } from '../schemas.ts';

/** Events per page when none is asked for, and at most. */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

const pageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .optional()
    .describe(`at most this many (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`),
  before: z.coerce.number().int().min(1).optional().describe('the `next` of the previous page: only older events'),
  kind: z.string().max(2000).optional().describe('only these kinds, comma separated (deploy.failed,crash.loop)'),
  since: z.iso.datetime({ offset: true }).optional().describe('only events recorded at or after this time (ISO 8601)'),
  until: z.iso.datetime({ offset: true }).optional().describe('only events recorded before this time (ISO 8601)'),
};
const appEventsQuery = z.strictObject(pageQuery);
const allEventsQuery = z.strictObject({
  ...pageQuery,
  app: name.optional().describe("only this app's events"),
  scope: z.enum(['host']).optional().describe("`host`: only the host's events (disk, memory)"),
});

const eventResponse = z.object({
  id: z.number(),
  at: z.string(),
  kind: z.string(),
  severity: z.string(),
  app: z.string().nullable().describe('null: an event of the host'),
  env: z.string().nullable(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});
const pageResponse = z.object({
  events: z.array(eventResponse),
  next: z.number().nullable().describe('pass as `before` for the next (older) page; null on the last one'),
});

type PageFilter = { limit?: number; before?: number; kind?: string; since?: string; until?: string };

/** The kinds of `?kind=`, each one of core's; an unknown one is refused naming `kind`. */
export function parseKinds(list: string | undefined): EventKind[] | undefined {
  if (list === undefined) return undefined;
  const kinds = list
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  const unknown = kinds.find((k) => !isEventKind(k));
  if (unknown !== undefined) throw new ValidationError(`kind: ${unknown} is not a kind of event`, 'kind');
  return kinds as EventKind[];
}

function pageOf(filter: PageFilter): Omit<EventQuery, 'appId'> {
  const since = filter.since ? new Date(filter.since) : undefined;
  const until = filter.until ? new Date(filter.until) : undefined;
  if (since && until && since >= until) throw new ValidationError('since: must be before until', 'since');
  return {
    limit: filter.limit ?? DEFAULT_LIMIT,
    ...(filter.before !== undefined ? { before: filter.before } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    kinds: parseKinds(filter.kind),
  };
}

/** `GET /events` (the host's and every app's, or one app's for an app token) and `GET /apps/:app/events`. */
export function eventRoutes(deps: ApiDeps) {
  const { apps, events } = deps;

  async function present(page: EventPage, principal: Principal) {
    const names = new Map((await apps.list(principal)).map((a) => [a.id, a.name]));
    return { events: page.events.map((e) => presentEvent(e, names)), next: page.next };
  }

  return [
    route({
      method: 'GET',
      url: '/events',
      summary: "The event log, newest first: every app's and the host's (admin), or the token's app's",
      tag: 'events',
      query: allEventsQuery,
      response: pageResponse,
      handler: async ({ query, principal }) => {
        const page = pageOf(query);
        if (query.scope === 'host') {
          assertAdmin(principal, "read the host's events");
          if (query.app) throw new ValidationError('scope: give app or scope=host, not both', 'scope');
          return present(await events.list({ ...page, appId: null }), principal);
        }
        if (query.app) {
          const app = await apps.get(principal, query.app);
          return present(await events.list({ ...page, appId: app.id }), principal);
        }
        const appId = principal.role === 'admin' ? undefined : principal.appId;
        return present(await events.list({ ...page, appId }), principal);
      },
    }),
    route({
      method: 'GET',
      url: '/events/kinds',
      summary: 'Every kind of event with its severity and scope (app or host): what `?kind=` and subscriptions take',
      tag: 'events',
      response: z.object({
        kinds: z.array(
          z.object({ kind: z.string(), severity: z.enum(['info', 'warning', 'critical']), scope: z.enum(['app', 'host']) }),
        ),
      }),
      handler: async () => ({
        kinds: Object.entries(EVENT_KINDS).map(([kind, { severity, scope }]) => ({ kind, severity, scope })),
      }),
    }),
    route({
      method: 'GET',
      url: '/apps/:app/events',
      summary: "One app's events, newest first",
      tag: 'events',
      params: appParams,
      query: appEventsQuery,
      response: pageResponse,
      handler: async ({ params, query, principal }) => {
        const app = await apps.get(principal, params.app);
        return present(await events.list({ ...pageOf(query), appId: app.id }), principal);
      },
    }),
  ];
}

export function presentEvent(event: EventRow, appNames: ReadonlyMap<string, string>) {
  return {
    id: event.id,
    at: event.createdAt.toISOString(),
    kind: event.kind,
    severity: event.severity,
    app: event.appId ? (appNames.get(event.appId) ?? null) : null,
    env: event.envName,
    message: event.message,
    data: event.data as Record<string, unknown>,
  };
}

/**
 * A request refused for a quota (QuotaRefusedError from the stores) is
 * recorded as `quota.refused` in the app's event log as it is answered
 * (once a minute per app and reason).
 */
export function recordQuotaRefusals(app: FastifyInstance, deps: Pick<ApiDeps, 'events'>): void {
  app.addHook('onError', async (request, _reply, error) => {
    if (!(error instanceof QuotaRefusedError)) return;
    const params = request.params as { app?: string; env?: string };
    const where = [params.app, error.envName ?? params.env].filter(Boolean).join(' ');
    await deps.events.record({
      kind: 'quota.refused',
      appId: error.appId,
      envName: error.envName ?? params.env ?? null,
      message: `${where ? `${where}: ` : ''}refused for a quota: ${error.message}`,
      data: { reason: error.message },
      dedupeKey: refusalDedupeKey('quota', error.appId, error.message, new Date()),
    });
  });
}
