import {
  assertAdmin,
  assertMayPullFrom,
  imageReferenceProblem,
  NotFoundError,
  type Principal,
  parseImageReference,
  registryServer,
  ValidationError,
} from '@pier/core';
import type { DeploymentRow } from '@pier/db';
import { generateWebhookSecret } from '@pier/github';
import { z } from 'zod';
import { checksView } from '../checks-gate.ts';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { deploymentResponse, presentDeployment } from '../presenters.ts';
import { appParams, branch, envParams } from '../schemas.ts';
import { streamDeploymentLogs } from './deployment-log-stream.ts';

const deploymentParams = z.strictObject({ id: z.string().max(64) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const manualDeployBody = z
  .strictObject({
    branch: branch.optional(),
    tag: branch.optional().describe('a tag name'),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'must be a full 40-character lower-case commit SHA')
      .optional(),
    waitForChecks: z
      .boolean()
      .optional()
      .describe(
        "wait for GitHub's checks of `commit` before building, as a push to a gated environment does (default: build at once)",
      ),
    skipChecks: z
      .boolean()
      .optional()
      .describe('build at once, whatever the environment’s CI gate says (the default for a manual deploy)'),
    image: z
      .string()
      .max(512)
      .superRefine((text, ctx) => {
        const problem = imageReferenceProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .describe(
        'an image built elsewhere, `[registry/]name[:tag][@sha256:…]`, pulled with the app’s registry credentials; only an admin token may name a registry on localhost or a loopback, link-local or private address',
      ),
  })
  .refine((b) => !(b.image && (b.branch || b.tag || b.commit || b.waitForChecks)), {
    message: 'give either image or a branch, tag or commit, not both',
    path: ['image'],
  })
  .refine((b) => [b.branch, b.tag, b.commit].filter(Boolean).length <= 1, 'give at most one of branch, tag or commit')
  .refine((b) => !(b.waitForChecks && b.skipChecks), {
    message: 'give waitForChecks or skipChecks, not both',
    path: ['skipChecks'],
  })
  .refine((b) => !b.waitForChecks || b.commit, {
    message: 'waiting for checks needs the commit they ran on: give commit',
    path: ['waitForChecks'],
  });

const registryCredentialsBody = z.strictObject({
  server: z
    .string()
    .max(255)
    .refine((s) => registryServer(s) !== null, 'must be a registry host with an optional :port, e.g. ghcr.io or 127.0.0.1:5000')
    .describe('the registry the credentials are for; they are sent to no other'),
  username: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  password: z
    .string()
    .min(1)
    .max(4096)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .describe('a password or access token; stored encrypted, never shown'),
});

const credentialsBody = z.union([
  z.strictObject({
    token: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  }),
  z.strictObject({
    deployKey: z
      .string()
      .max(16 * 1024)
      .regex(
        /^-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----\s*$/,
        'must be a PEM/OpenSSH private key',
      ),
  }),
]);

const logsQuery = z.strictObject({
  follow: z.enum(['1', 'true', '0', 'false']).optional(),
  after: z.coerce.number().int().min(0).optional().describe('only lines after this id'),
});

export function deploymentRoutes(deps: ApiDeps) {
  const { apps, environments, deployments } = deps;

  /** A deployment the principal may see, with its app and environment names. */
  async function visible(principal: Principal, id: string) {
    if (!UUID.test(id)) throw new NotFoundError(`deployment ${id} not found`);
    const deployment = await deployments.get(id);
    const app = await apps.byId(deployment.appId);
    if (principal.role === 'app' && principal.appId !== app.id) throw new NotFoundError(`deployment ${id} not found`);
    const env = (await environments.list(app.id)).find((e) => e.id === deployment.environmentId);
    return { deployment, app, envName: env?.name ?? '' };
  }

  const present = (d: DeploymentRow, app: string, env: string) => presentDeployment(d, app, env);

  return [
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/deployments',
      summary:
        'Deploy a branch, tag or commit (default: the environment’s branch, else the app’s default branch); it builds at once unless `waitForChecks`',
      tag: 'deployments',
      params: envParams,
      body: manualDeployBody,
      status: 202,
      response: deploymentResponse,
      handler: async ({ params, body, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        if (body.image) {
          // The Engine contacts the registry from the host: an app token may not point it at loopback or private addresses.
          assertMayPullFrom(principal, parseImageReference(body.image));
          // Pulled by the build job instead of built; from there on the same release path as a build.
          const row = await deployments.enqueue({
            appId: app.id,
            environmentId: env.id,
            trigger: 'manual',
            gitRef: null,
            commitSha: null,
            image: body.image,
          });
          return present(row, app.name, env.name);
        }
        if (!app.repoCloneUrl) throw new ValidationError('repository: the app has no repository to deploy from', 'repository');
        const gitRef = body.commit
          ? null
          : body.tag
            ? `refs/tags/${body.tag}`
            : `refs/heads/${body.branch ?? env.branch ?? app.defaultBranch}`;
        const input = {
          appId: app.id,
          environmentId: env.id,
          trigger: 'manual' as const,
          gitRef,
          commitSha: body.commit ?? null,
        };
        const row =
          body.waitForChecks && body.commit
            ? await deps.checks.enqueueWaiting({
                ...input,
                commitSha: body.commit,
                checksDeadlineAt: new Date(Date.now() + env.checksTimeoutMs),
              })
            : await deployments.enqueue(input);
        const checks = await checksView(deps, row);
        return { ...present(row, app.name, env.name), ...(checks ? { checks } : {}) };
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/deployments',
      summary: 'Deployments of an environment, newest first',
      tag: 'deployments',
      params: envParams,
      response: z.object({ deployments: z.array(deploymentResponse) }),
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        const rows = await deployments.list({ appId: app.id, environmentId: env.id });
        return { deployments: rows.map((d) => present(d, app.name, env.name)) };
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/deployments',
      summary: 'Deployments of every environment of an app, newest first',
      tag: 'deployments',
      params: appParams,
      response: z.object({ deployments: z.array(deploymentResponse) }),
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const names = new Map((await environments.list(app.id)).map((e) => [e.id, e.name]));
        const rows = await deployments.list({ appId: app.id });
        return { deployments: rows.map((d) => present(d, app.name, names.get(d.environmentId) ?? '')) };
      },
    }),
    route({
      method: 'GET',
      url: '/deployments/:id',
      summary: 'Show a deployment with its state changes',
      tag: 'deployments',
      params: deploymentParams,
      response: deploymentResponse,
      handler: async ({ params, principal }) => {
        const { deployment, app, envName } = await visible(principal, params.id);
        const events = await deployments.events(deployment.id);
        const checks = await checksView(deps, deployment);
        return {
          ...present(deployment, app.name, envName),
          ...(checks ? { checks } : {}),
          events: events.map((e) => ({ from: e.fromState, to: e.toState, message: e.message, at: e.at.toISOString() })),
        };
      },
    }),
    route({
      method: 'POST',
      url: '/deployments/:id/cancel',
      summary: 'Cancel a queued deployment, or stop a running build',
      tag: 'deployments',
      params: deploymentParams,
      status: 202,
      response: deploymentResponse,
      handler: async ({ params, principal }) => {
        const { app, envName } = await visible(principal, params.id);
        return present(await deployments.cancel(params.id), app.name, envName);
      },
    }),
    route({
      method: 'GET',
      url: '/deployments/:id/logs',
      summary: 'Build output; `?follow=1` streams it as Server-Sent Events until the build ends',
      tag: 'deployments',
      params: deploymentParams,
      query: logsQuery,
      response: z.object({ lines: z.array(z.object({ id: z.number(), stream: z.string(), line: z.string(), at: z.string() })) }),
      handler: async ({ params, query, principal, request, reply }) => {
        const { deployment } = await visible(principal, params.id);
        const after = query.after ?? Number(request.headers['last-event-id'] ?? 0) ?? 0;
        if (query.follow === '1' || query.follow === 'true') {
          await streamDeploymentLogs(deployments, deployment.id, Number.isFinite(after) ? after : 0, request, reply);
          return reply;
        }
        const lines = await deployments.logs(deployment.id, query.after ?? 0);
        return { lines: lines.map((l) => ({ ...l, at: l.at.toISOString() })) };
      },
    }),
    route({
      method: 'PUT',
      url: '/apps/:app/repository-credentials',
      summary:
        'Credentials for a private repository: an access token or a deploy key, stored encrypted and bound to the repository’s origin (admin only)',
      tag: 'apps',
      params: appParams,
      body: credentialsBody,
      status: 204,
      handler: async ({ params, body, principal }) => {
        assertAdmin(principal, 'set repository credentials');
        const credentials =
          'token' in body
            ? { kind: 'token' as const, token: body.token }
            : { kind: 'deploy-key' as const, privateKey: body.deployKey };
        await apps.setRepoCredentials(principal, params.app, credentials);
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/repository-credentials',
      summary: 'Forget the repository credentials (admin only)',
      tag: 'apps',
      params: appParams,
      status: 204,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'remove repository credentials');
        await apps.setRepoCredentials(principal, params.app, null);
      },
    }),
    route({
      method: 'PUT',
      url: '/apps/:app/registry-credentials',
      summary:
        'Credentials that pull the app’s prebuilt images (`POST …/deployments { image }`) from one registry, stored encrypted (admin only)',
      tag: 'apps',
      params: appParams,
      body: registryCredentialsBody,
      status: 204,
      handler: async ({ params, body, principal }) => {
        assertAdmin(principal, 'set registry credentials');
        await apps.setRegistryCredentials(principal, params.app, body);
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/registry-credentials',
      summary: 'Which registry and user the app pulls prebuilt images as (never the password; admin only)',
      tag: 'apps',
      params: appParams,
      response: z.object({ server: z.string(), username: z.string() }),
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'read registry credentials');
        const credentials = apps.registryCredentials(await apps.get(principal, params.app));
        if (!credentials) throw new NotFoundError(`app ${params.app} has no registry credentials`);
        return { server: credentials.server, username: credentials.username };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/registry-credentials',
      summary: 'Forget the registry credentials (admin only)',
      tag: 'apps',
      params: appParams,
      status: 204,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'remove registry credentials');
        await apps.setRegistryCredentials(principal, params.app, null);
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/webhook-secret',
      summary: 'Replace the app’s GitHub webhook secret; the new one is in this response only',
      tag: 'apps',
      params: appParams,
      response: z.object({ webhookSecret: z.string() }),
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'rotate webhook secrets');
        const webhookSecret = generateWebhookSecret();
        await apps.rotateWebhookSecret(principal, params.app, webhookSecret);
        return { webhookSecret };
      },
    }),
  ];
}
