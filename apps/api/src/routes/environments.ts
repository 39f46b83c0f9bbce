import {
  ConflictError,
  controlHostnameProblem,
  DEFAULT_APP_QUOTAS,
  generatedLabelProblem,
  hostnamesFor,
  ValidationError,
} from '@pier/core';
import type { EnvironmentSettings } from '@pier/db';
import { z } from 'zod';
import { assertScaleFits } from '../capacity/scale-capacity.ts';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { deploymentResponse, environmentResponse, presentDeployment, presentEnvironment } from '../presenters.ts';
import { appParams, createEnvironmentBody, envParams, updateEnvironmentBody } from '../schemas.ts';
import { environmentWithRollbackResponse, presentEnvironmentWithRollback } from './auto-rollback.ts';
import { assertSingleWriterFits } from './processes.ts';
import { redeployWithSettings, runSettingsChanged } from './run-settings-redeploy.ts';

type SettingsBody = z.output<typeof updateEnvironmentBody>;

/** API field names → columns. */
function settings(body: SettingsBody): EnvironmentSettings {
  const health = body.healthCheck ?? {};
  const out: EnvironmentSettings = {
    branch: body.branch,
    tagPattern: body.tagPattern,
    replicas: body.replicas,
    port: body.port,
    healthPath: health.path,
    healthIntervalMs: health.intervalMs,
    healthTimeoutMs: health.timeoutMs,
    healthyThreshold: health.healthyThreshold,
    healthDeadlineMs: health.deadlineMs,
    drainTimeoutMs: body.drainTimeoutMs,
    waitForChecks: body.waitForChecks,
    requiredChecks: body.requiredChecks,
    checksTimeoutMs: body.checksTimeoutMs,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as EnvironmentSettings;
}

export function environmentRoutes(deps: ApiDeps) {
  const { apps, environments } = deps;
  return [
    route({
      method: 'GET',
      url: '/apps/:app/environments',
      summary: 'List an app’s environments',
      tag: 'environments',
      params: appParams,
      response: z.object({ environments: z.array(environmentWithRollbackResponse) }),
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const rows = await environments.list(app.id);
        return { environments: await Promise.all(rows.map((env) => presentEnvironmentWithRollback(deps.releaseWatches, env))) };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments',
      summary: 'Create an environment',
      tag: 'environments',
      params: appParams,
      body: createEnvironmentBody,
      status: 201,
      response: environmentResponse,
      handler: async ({ params, body, principal }) => {
        const app = await apps.get(principal, params.app);
        const { name, ...rest } = body;
        const tooLong = generatedLabelProblem(app.name, name);
        if (tooLong) throw new ValidationError(`body.name: ${tooLong}`, 'body.name');
        const reserved = controlHostnameProblem(deps.controlHostname, hostnamesFor(app.name, name, deps.baseDomain));
        if (reserved) throw new ConflictError(`body.name: ${reserved}`);
        return presentEnvironment(await environments.create(app.id, name, settings(rest), deps.quotas ?? DEFAULT_APP_QUOTAS));
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env',
      summary: 'Show an environment',
      tag: 'environments',
      params: envParams,
      response: environmentWithRollbackResponse,
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        return presentEnvironmentWithRollback(deps.releaseWatches, await environments.get(app.id, params.env));
      },
    }),
    route({
      method: 'PATCH',
      url: '/apps/:app/environments/:env',
      summary: 'Change an environment’s trigger, replicas, health check, CI gate or automatic rollback',
      tag: 'environments',
      params: envParams,
      body: updateEnvironmentBody,
      response: environmentWithRollbackResponse.extend({
        deployment: deploymentResponse
          .nullable()
          .describe('the redeploy of the running image that a changed port or health check started; null: none'),
      }),
      handler: async ({ params, body, principal }) => {
        const app = await apps.get(principal, params.app);
        const before = await environments.get(app.id, params.env);
        await assertSingleWriterFits(deps, before.id, 'web', body.replicas);
        if (body.replicas !== undefined && body.replicas > before.replicas) {
          await assertScaleFits(deps.capacity, {
            app: app.name,
            env: before.name,
            type: 'web',
            from: before.replicas,
            to: body.replicas,
            memoryMb: await deps.reservations.memoryMbOf(before.id, 'web'),
            field: 'body.replicas',
            subject: { appId: app.id, environmentId: before.id, envName: before.name },
          });
        }
        const env = await environments.update(app.id, params.env, settings(body), deps.quotas ?? DEFAULT_APP_QUOTAS);
        if (body.autoRollback) await deps.releaseWatches.updateSettings(env.id, body.autoRollback);
        const deployment = runSettingsChanged(before, env) ? await redeployWithSettings(deps, env) : null;
        return {
          ...(await presentEnvironmentWithRollback(deps.releaseWatches, env)),
          deployment: deployment ? presentDeployment(deployment, app.name, env.name) : null,
        };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/environments/:env',
      summary: 'Delete an environment (production cannot be deleted)',
      tag: 'environments',
      params: envParams,
      status: 204,
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        await environments.delete(app.id, params.env);
      },
    }),
  ];
}
