import {
  assertAdmin,
  assertMayChangeAppSettings,
  ConflictError,
  controlHostnameProblem,
  defaultEnvironments,
  hostnamesFor,
} from '@pier/core';
import { generateWebhookSecret } from '@pier/github';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { appResponse, environmentResponse, presentApp, presentEnvironment } from '../presenters.ts';
import { appParams, createAppBody, updateAppBody } from '../schemas.ts';

/** How long DELETE /apps/:app waits for the worker's report by default: its replicas drain first. */
const DEFAULT_DELETE_WAIT_S = 60;

const deleteAppQuery = z.strictObject({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(300)
    .optional()
    .describe(
      `seconds to wait for the worker to remove the app's containers and images (default ${DEFAULT_DELETE_WAIT_S}; 0: answer at once)`,
    ),
});

const deletedAppResponse = z.object({
  app: z.string(),
  imagesRemoved: z.number().nullable().describe('images of the app removed; null while the worker has not reported (202)'),
  freedBytes: z
    .number()
    .nullable()
    .describe('how much the image store shrank while they were removed; null while the worker has not reported (202)'),
});

export function appRoutes(deps: ApiDeps) {
  const { apps, environments } = deps;
  return [
    route({
      method: 'POST',
      url: '/apps',
      summary: 'Create an app with its production and staging environments',
      tag: 'apps',
      body: createAppBody,
      status: 201,
      response: appResponse.extend({
        environments: z.array(environmentResponse),
        webhookSecret: z.string().describe('GitHub webhook secret; shown only here and on rotation'),
      }),
      handler: async ({ body, principal }) => {
        assertAdmin(principal, 'create apps');
        const generated = defaultEnvironments(body.defaultBranch ?? 'main').flatMap((env) =>
          hostnamesFor(body.name, env.name, deps.baseDomain),
        );
        const reserved = controlHostnameProblem(deps.controlHostname, generated);
        if (reserved) throw new ConflictError(`body.name: ${reserved}`);
        const webhookSecret = generateWebhookSecret();
        const app = await apps.create({
          name: body.name,
          webhookSecret,
          repoFullName: body.repository?.fullName ?? null,
          repoCloneUrl: body.repository?.cloneUrl ?? null,
          ...(body.defaultBranch ? { defaultBranch: body.defaultBranch } : {}),
          ...(body.dockerfilePath ? { dockerfilePath: body.dockerfilePath } : {}),
          ...(body.configPath ? { configPath: body.configPath } : {}),
        });
        const envs = await environments.list(app.id);
        return { ...presentApp(app), environments: envs.map(presentEnvironment), webhookSecret };
      },
    }),
    route({
      method: 'GET',
      url: '/apps',
      summary: 'List the apps the token may see',
      tag: 'apps',
      response: z.object({ apps: z.array(appResponse) }),
      handler: async ({ principal }) => ({ apps: (await apps.list(principal)).map(presentApp) }),
    }),
    route({
      method: 'GET',
      url: '/apps/:app',
      summary: 'Show an app and its environments',
      tag: 'apps',
      params: appParams,
      response: appResponse.extend({ environments: z.array(environmentResponse) }),
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const envs = await environments.list(app.id);
        return { ...presentApp(app), environments: envs.map(presentEnvironment) };
      },
    }),
    route({
      method: 'PATCH',
      url: '/apps/:app',
      summary:
        'Change an app’s repository, default branch, Dockerfile path, pier.json path or pull request previews (repository, forkPreviews and previewDatabase: admin only)',
      tag: 'apps',
      params: appParams,
      body: updateAppBody,
      response: appResponse.extend({
        repositoryCredentialsDropped: z
          .boolean()
          .optional()
          .describe('true when the repository moved to another origin and its credentials were dropped'),
      }),
      handler: async ({ params, body, principal }) => {
        assertMayChangeAppSettings(
          principal,
          Object.keys(body).filter((key) => body[key as keyof typeof body] !== undefined),
        );
        const patch = {
          ...(body.repository !== undefined
            ? { repoFullName: body.repository?.fullName ?? null, repoCloneUrl: body.repository?.cloneUrl ?? null }
            : {}),
          ...(body.defaultBranch ? { defaultBranch: body.defaultBranch } : {}),
          ...(body.dockerfilePath ? { dockerfilePath: body.dockerfilePath } : {}),
          ...(body.configPath ? { configPath: body.configPath } : {}),
          ...(body.previewsEnabled !== undefined ? { previewsEnabled: body.previewsEnabled } : {}),
          ...(body.forkPreviews !== undefined ? { forkPreviews: body.forkPreviews } : {}),
          ...(body.previewDatabase !== undefined ? { previewDatabase: body.previewDatabase } : {}),
        };
        const { app, repositoryCredentialsDropped } = await apps.update(principal, params.app, patch);
        return { ...presentApp(app), ...(repositoryCredentialsDropped ? { repositoryCredentialsDropped } : {}) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app',
      summary:
        'Delete an app, its environments and variables; the worker then removes its containers and its images. 200 with the disk freed once the worker reported within `wait` seconds, else 202',
      tag: 'apps',
      params: appParams,
      query: deleteAppQuery,
      response: deletedAppResponse,
      otherStatuses: { 202: 'deleted; the worker had not reported within `wait` seconds: imagesRemoved and freedBytes are null' },
      handler: async ({ params, query, principal, reply }) => {
        assertAdmin(principal, 'delete apps');
        await apps.get(principal, params.app);
        const waitMs = (query.wait ?? DEFAULT_DELETE_WAIT_S) * 1000;
        // Listening before the delete commits: the worker's report cannot come first.
        const watch = waitMs > 0 && deps.appDeletions ? await deps.appDeletions(params.app) : null;
        try {
          await apps.delete(principal, params.app);
          const removed = watch ? await watch.result(waitMs) : null;
          if (removed) return { app: params.app, imagesRemoved: removed.images, freedBytes: removed.freedBytes };
          reply.code(202);
          return { app: params.app, imagesRemoved: null, freedBytes: null };
        } finally {
          await watch?.close().catch(() => {});
        }
      },
    }),
  ];
}
