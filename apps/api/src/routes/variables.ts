import { NotFoundError } from '@pier/core';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { deploymentResponse, presentDeployment, variableResponse } from '../presenters.ts';
import { changeVariablesBody, envParams, name, revealQuery, variableParams } from '../schemas.ts';
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
      method: 'GET',
      url: '/apps/:app/environments/:env/variables/:key',
      summary: 'One variable with its value (the dashboard reveals values one at a time); 404 when it is not set',
      tag: 'variables',
      params: variableParams,
      response: variableResponse,
      handler: async ({ params, principal, reply }) => {
        const env = await environmentOf(principal, params.app, params.env);
        const found = await variables.reveal(env.id, params.key);
        if (!found) throw new NotFoundError(`variable ${params.key} is not set in ${env.name}`);
        reply.header('cache-control', 'no-store');
        return { ...found, updatedAt: found.updatedAt.toISOString() };
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/variables/compare',
      summary:
        "What differs between this environment's variables and another's of the same app, by name only (for a promotion's preview: no value leaves the server)",
      tag: 'variables',
      params: envParams,
      query: z.strictObject({ with: name.describe('the other environment') }),
      response: z.object({
        environment: z.string(),
        with: z.string(),
        onlyHere: z.array(z.string()).describe('set here, not in `with`'),
        onlyThere: z.array(z.string()).describe('set in `with`, not here'),
        differing: z.array(z.string()).describe('set in both, to different values'),
      }),
      handler: async ({ params, query, principal }) => {
        const app = await apps.get(principal, params.app);
        const [here, there] = await Promise.all([environments.get(app.id, params.env), environments.get(app.id, query.with)]);
        const [mine, theirs] = await Promise.all([variables.list(here.id, true), variables.list(there.id, true)]);
        const theirValues = new Map(theirs.map((v) => [v.key, v.value]));
        const myKeys = new Set(mine.map((v) => v.key));
        return {
          environment: here.name,
          with: there.name,
          onlyHere: mine.filter((v) => !theirValues.has(v.key)).map((v) => v.key),
          onlyThere: theirs.filter((v) => !myKeys.has(v.key)).map((v) => v.key),
          differing: mine.filter((v) => theirValues.has(v.key) && theirValues.get(v.key) !== v.value).map((v) => v.key),
        };
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
