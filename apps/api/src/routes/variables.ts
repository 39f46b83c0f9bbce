import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { deploymentResponse, presentDeployment, variableResponse } from '../presenters.ts';
import { changeVariablesBody, envParams, revealQuery, variableParams } from '../schemas.ts';
import { redeployWithSettings } from './run-settings-redeploy.ts';

export function variableRoutes({ apps, environments, variables, releases, deployments }: ApiDeps) {
  async function environmentOf(principal: Parameters<typeof apps.get>[0], appName: string, envName: string) {
    const app = await apps.get(principal, appName);
    return environments.get(app.id, envName);
  }

  return [
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/variables',
      summary: 'List variables; values are null unless ?reveal=true',
      tag: 'variables',
      params: envParams,
      query: revealQuery,
      response: z.object({ variables: z.array(variableResponse) }),
      handler: async ({ params, query, principal }) => {
        const env = await environmentOf(principal, params.app, params.env);
        const reveal = query.reveal === 'true' || query.reveal === '1';
        const list = await variables.list(env.id, reveal);
        return { variables: list.map((v) => ({ ...v, updatedAt: v.updatedAt.toISOString() })) };
      },
    }),
    route({
      method: 'PATCH',
      url: '/apps/:app/environments/:env/variables',
      summary: 'Set and unset many variables at once, atomically; `redeploy: true` also redeploys the running image with them',
      tag: 'variables',
      params: envParams,
      body: changeVariablesBody,
      response: z.object({
        set: z.array(z.string()),
        unset: z.array(z.string()),
        configVersion: z.number(),
        deployment: deploymentResponse
          .nullable()
          .describe('the redeploy `redeploy: true` started; null when none (nothing deployed yet)'),
      }),
      handler: async ({ params, body, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        const { redeploy, ...change } = body;
        const result = await variables.change(env.id, change);
        const deployment = redeploy ? await redeployWithSettings({ releases, deployments }, env) : null;
        return { ...result, deployment: deployment ? presentDeployment(deployment, app.name, env.name) : null };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/environments/:env/variables/:key',
      summary: 'Unset one variable',
      tag: 'variables',
      params: variableParams,
      status: 204,
      handler: async ({ params, principal }) => {
        const env = await environmentOf(principal, params.app, params.env);
        await variables.change(env.id, { unset: [params.key], requireExisting: true });
      },
    }),
  ];
}
