import {
  assertAdmin,
  ConflictError,
  linkVariableKeys,
  mirrorDifferences,
  NotFoundError,
  PRODUCTION_ENV,
  urlParamsSchema,
  ValidationError,
} from '@pier/core';
import type { EnvironmentRow, ServiceLink } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { presentDeployment } from '../presenters.ts';
import { envParams, name } from '../schemas.ts';
import { assertNotRolledBack } from './auto-rollback.ts';
import { builtCommit, redeployWithSettings } from './run-settings-redeploy.ts';

const linkBody = z.strictObject({
  service: z.string().min(1).max(100).describe('service name or id'),
  urlParams: urlParamsSchema
    .optional()
    .describe('query parameters added to the injected URL, e.g. { "sslmode": "require" } (sslmode also as PGSSLMODE)'),
});
const linkParams = envParams.extend({ service: z.string().min(1).max(100) });
const promoteBody = z.strictObject({
  from: name.describe('environment whose live image is deployed here, e.g. staging'),
  release: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('version of the release of `from` to promote; default: its live release. One rolled back on its own is refused'),
  // Accepted as a deploy accepts it (the issue asks that promotions can skip the gate explicitly); a promotion never waits.
  skipChecks: z
    .boolean()
    .optional()
    .describe(
      'changes nothing: a promotion deploys an image already built and never waits for GitHub’s checks, whatever this environment’s CI gate says (true or false alike)',
    ),
});

/** A linked service as the API shows it (never its credentials): the names it injects, not their values. */
export function presentLink(link: ServiceLink) {
  return {
    service: link.service.name,
    type: link.service.type,
    version: link.service.version,
    state: link.service.state,
    variable: link.variable,
    variables: linkVariableKeys(link.service.type, link.variable, link.urlParams),
    urlParams: link.urlParams,
    linkedAt: link.createdAt.toISOString(),
  };
}

/** The release of `source` a promotion deploys: the version asked for, else the live one. */
async function promotedRelease(deps: Pick<ApiDeps, 'releases'>, source: EnvironmentRow, version: number | undefined) {
  if (version !== undefined) {
    const found = (await deps.releases.list(source.id, 1000)).find((r) => r.version === version);
    if (!found) throw new NotFoundError(`release v${version} of ${source.name} not found`);
    return found;
  }
  if (!source.liveReleaseId) throw new ConflictError(`environment ${source.name} has no live release to promote`);
  return deps.releases.get(source.liveReleaseId);
}

/** Links, unlinks and promotion: each ends in a health-gated deployment of an image that already exists. */
export function linkRoutes(deps: ApiDeps) {
  const { apps, environments, services, deployments } = deps;

  return [
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/links',
      summary: 'Services linked to the environment and the variable each injects',
      tag: 'services',
      params: envParams,
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        return { links: (await services.links(env.id)).map(presentLink) };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/links',
      summary:
        'Link a ready service: DATABASE_URL and PGHOST… / REDIS_URL and REDIS_HOST… (or <NAME>_…) are injected and the environment redeploys, health-gated',
      tag: 'services',
      params: envParams,
      body: linkBody,
      status: 201,
      handler: async ({ params, body, principal }) => {
        assertAdmin(principal, 'link services');
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        const service = await services.get(body.service).catch((err: unknown) => {
          if (err instanceof NotFoundError) throw new ValidationError(`service: no service named ${body.service}`, 'service');
          throw err;
        });
        const link = await services.link(env.id, service.id, { urlParams: body.urlParams ?? {} });
        const deployment = await redeployWithSettings(deps, env);
        return {
          service: service.name,
          variable: link.variable,
          variables: linkVariableKeys(service.type, link.variable, link.urlParams),
          urlParams: link.urlParams,
          deployment: deployment ? presentDeployment(deployment, app.name, env.name) : null,
        };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/environments/:env/links/:service',
      summary: 'Unlink a service: its variables are removed and the environment redeploys, health-gated',
      tag: 'services',
      params: linkParams,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'unlink services');
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        const service = await services.get(params.service);
        await services.unlink(env.id, service.id);
        const deployment = await redeployWithSettings(deps, env);
        return { deployment: deployment ? presentDeployment(deployment, app.name, env.name) : null };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/promote',
      summary:
        'Deploy the exact image live in another environment (e.g. staging) here, with this environment’s variables and links; no rebuild',
      tag: 'releases',
      params: envParams,
      body: promoteBody,
      status: 202,
      handler: async ({ params, body, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        if (body.from === env.name) throw new ValidationError('from: an environment cannot be promoted into itself', 'from');
        const source = await environments.get(app.id, body.from);
        if (source.fromFork) {
          throw new ValidationError(`from: ${source.name} runs a fork's code, which is never promoted`, 'from');
        }
        const release = await promotedRelease(deps, source, body.release);
        // A release that was rolled back on its own (an error spike after its rollout) is not promoted.
        await assertNotRolledBack(deps.releaseWatches, release, source.name);
        const deployment = await deployments.enqueueRelease({
          appId: app.id,
          environmentId: env.id,
          trigger: 'promote',
          releaseId: null,
          imageId: release.imageId,
          commitSha: builtCommit(release),
        });
        return presentDeployment(deployment, app.name, env.name);
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/mirror',
      summary:
        'Whether this environment’s linked service types and versions match production’s (staging should mirror production)',
      tag: 'services',
      params: envParams,
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        return mirrorReport(deps, app.id, env);
      },
    }),
  ];
}

/** The mirror check status shows: this environment against production (production against staging). */
export async function mirrorReport(
  deps: Pick<ApiDeps, 'environments' | 'services'>,
  appId: string,
  env: { id: string; name: string },
) {
  const all = await deps.environments.list(appId);
  const otherName = env.name === PRODUCTION_ENV ? 'staging' : PRODUCTION_ENV;
  const other = all.find((e) => e.name === otherName);
  if (!other) return { comparedWith: null, differences: [] as string[] };
  const describe = async (id: string) =>
    (await deps.services.links(id)).map((l) => ({ type: l.service.type, version: l.service.version }));
  const differences = mirrorDifferences(
    { name: env.name, services: await describe(env.id) },
    { name: other.name, services: await describe(other.id) },
  );
  return { comparedWith: other.name, differences };
}
