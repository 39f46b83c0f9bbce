import { assertAdmin, ValidationError } from '@pier/core';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { envParams } from '../schemas.ts';
import {
  logLineResponse,
  logsQuery,
  presentLogLine,
  readCapped,
  storeQuery,
  streamEnvironmentLogs,
} from './environment-log-stream.ts';

const retentionBody = z.strictObject({
  days: z
    .number()
    .int()
    .min(1)
    .max(365)
    .nullable()
    .describe("days a line is kept (null: the installation's default, PIER_LOG_RETENTION_DAYS)"),
  mb: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .nullable()
    .describe("MB of lines kept, the oldest removed first (null: the installation's default, PIER_LOG_RETENTION_MB)"),
});

/**
 * An environment's logs, from Pier's log store (the worker's collector
 * writes every line of its replicas, release commands and runs there): lines
 * of containers that were replaced or crashed stay readable until retention
 * removes them. The api reads Postgres only, never Docker.
 */
export function environmentLogRoutes(deps: ApiDeps) {
  const { apps, environments, logs } = deps;

  async function environment(principal: Parameters<typeof apps.get>[0], app: string, env: string) {
    const row = await apps.get(principal, app);
    return environments.get(row.id, env);
  }

  return [
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/logs',
      summary:
        'Stored stdout/stderr of the environment’s replicas, release commands and runs, each line with its replica, process type and release; filters by time, text, process type and replica; `?follow=1` streams them as Server-Sent Events (resume with Last-Event-ID)',
      tag: 'releases',
      params: envParams,
      query: logsQuery,
      response: z.object({ lines: z.array(logLineResponse), truncated: z.boolean().optional() }),
      handler: async ({ params, query, principal, request, reply }) => {
        const env = await environment(principal, params.app, params.env);
        if (query.follow === '1' || query.follow === 'true') {
          if (query.before !== undefined)
            throw new ValidationError('query.before: pages back through stored lines; it cannot be followed', 'query.before');
          const resume = Number(request.headers['last-event-id']);
          const after = query.after ?? (Number.isSafeInteger(resume) && resume > 0 ? resume : undefined);
          await streamEnvironmentLogs(logs, storeQuery(env.id, { ...query, after }), request, reply);
          return reply;
        }
        const { rows, truncated } = await readCapped(logs, storeQuery(env.id, query));
        return { lines: rows.map(presentLogLine), ...(truncated ? { truncated } : {}) };
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/logs/retention',
      summary: 'How much the environment’s stored logs hold, and how long and how much it keeps',
      tag: 'releases',
      params: envParams,
      handler: async ({ params, principal }) => {
        const env = await environment(principal, params.app, params.env);
        const usage = await logs.usage(env.id);
        return { bytes: usage.bytes, lines: usage.lines, days: usage.retentionDays, mb: usage.retentionMb };
      },
    }),
    route({
      method: 'PUT',
      url: '/apps/:app/environments/:env/logs/retention',
      summary: 'How long and how much of the environment’s logs are kept, in place of the installation’s defaults (admin only)',
      tag: 'releases',
      params: envParams,
      body: retentionBody,
      handler: async ({ params, body, principal }) => {
        // The disk is the host's: an app token may not give itself more of it.
        assertAdmin(principal, 'change log retention');
        const env = await environment(principal, params.app, params.env);
        await logs.setRetention(env.id, body.days, body.mb);
        const usage = await logs.usage(env.id);
        return { bytes: usage.bytes, lines: usage.lines, days: usage.retentionDays, mb: usage.retentionMb };
      },
    }),
  ];
}
