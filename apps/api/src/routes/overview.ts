import { hostnamesFor } from '@pier/core';
import type { EnvironmentOverview } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';

const IN_PROGRESS = new Set(['waiting_for_checks', 'queued', 'building', 'deploying']);

/** What an environment is doing, in one word: a crash loop first, then a deploy under way, then how the last one ended. */
export function environmentState(env: EnvironmentOverview): 'crash-looping' | 'deploying' | 'failed' | 'live' | 'new' {
  if (env.health === 'crash-looping') return 'crash-looping';
  const last = env.lastDeployment;
  if (last && IN_PROGRESS.has(last.state)) return 'deploying';
  if (last?.state === 'failed') return 'failed';
  return env.liveRelease ? 'live' : 'new';
}

const environmentOverview = z.object({
  name: z.string(),
  pullRequest: z.number().nullable(),
  state: z.enum(['crash-looping', 'deploying', 'failed', 'live', 'new']),
  url: z.string(),
  liveRelease: z.object({ version: z.number(), imageRef: z.string().nullable(), at: z.string() }).nullable(),
  lastDeployment: z
    .object({
      id: z.string(),
      state: z.string(),
      trigger: z.string(),
      gitRef: z.string().nullable(),
      at: z.string(),
      finishedAt: z.string().nullable(),
    })
    .nullable(),
});

/** `GET /overview`: every app the token sees with each environment's state, live release and newest deployment. */
export function overviewRoutes(deps: ApiDeps) {
  return [
    route({
      method: 'GET',
      url: '/overview',
      summary:
        "Every app with each environment's state (live, deploying, failed, crash-looping, new), live release, newest deployment and URL, in one answer",
      tag: 'apps',
      response: z.object({
        apps: z.array(
          z.object({ name: z.string(), repository: z.string().nullable(), environments: z.array(environmentOverview) }),
        ),
      }),
      handler: async ({ principal }) => {
        const rows = await deps.overview.list(principal.role === 'app' ? principal.appId : null);
        const apps = new Map<
          string,
          { name: string; repository: string | null; environments: z.infer<typeof environmentOverview>[] }
        >();
        for (const row of rows) {
          const app = apps.get(row.app) ?? { name: row.app, repository: row.repository, environments: [] };
          apps.set(row.app, app);
          app.environments.push({
            name: row.environment,
            pullRequest: row.pullRequest,
            state: environmentState(row),
            url: `https://${hostnamesFor(row.app, row.environment, deps.baseDomain)[0]}`,
            liveRelease: row.liveRelease ? { ...row.liveRelease, at: row.liveRelease.at.toISOString() } : null,
            lastDeployment: row.lastDeployment
              ? {
                  ...row.lastDeployment,
                  at: row.lastDeployment.at.toISOString(),
                  finishedAt: row.lastDeployment.finishedAt?.toISOString() ?? null,
                }
              : null,
          });
        }
        return { apps: [...apps.values()] };
      },
    }),
  ];
}
