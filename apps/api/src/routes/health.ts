import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';

export function healthRoutes(deps: ApiDeps) {
  return [
    route({
      method: 'GET',
      url: '/health',
      summary: 'Liveness: the process answers',
      tag: 'health',
      auth: false,
      response: z.object({ status: z.literal('ok') }),
      handler: async () => ({ status: 'ok' }),
    }),
    route({
      method: 'GET',
      url: '/ready',
      summary: 'Readiness: Postgres and Redis are reachable (503 when not); says which, the error is logged',
      tag: 'health',
      auth: false,
      response: z.object({
        status: z.enum(['ready', 'unavailable']),
        checks: z.record(z.string(), z.enum(['ok', 'unreachable'])),
      }),
      handler: async ({ reply, request }) => {
        const entries = await Promise.all(
          Object.entries(deps.readiness).map(async ([name, probe]) => {
            try {
              await probe();
              return [name, 'ok'] as const;
            } catch (err) {
              // Open to anyone: the driver's text (hosts, ports, users) stays in the log.
              request.log.warn({ err, check: name }, 'readiness check failed');
              return [name, 'unreachable'] as const;
            }
          }),
        );
        const ready = entries.every(([, result]) => result === 'ok');
        reply.code(ready ? 200 : 503);
        return { status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(entries) };
      },
    }),
  ];
}
