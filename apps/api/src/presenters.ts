import { DEPLOYMENT_STATES } from '@pier/core';
import type { AppRow, DeploymentRow, EnvironmentRow } from '@pier/db';
import { z } from 'zod';

/** What the API returns for an app. */
export function presentApp(app: AppRow) {
  return {
    id: app.id,
    name: app.name,
    repository: app.repoFullName && app.repoCloneUrl ? { fullName: app.repoFullName, cloneUrl: app.repoCloneUrl } : null,
    repositoryCredentials: app.repoCredentialsCiphertext !== null,
    registryCredentials: app.registryCredentialsCiphertext !== null,
    defaultBranch: app.defaultBranch,
    dockerfilePath: app.dockerfilePath,
    configPath: app.configPath,
    previewsEnabled: app.previewsEnabled,
    forkPreviews: app.forkPreviews,
    previewDatabase: app.previewDatabase,
    createdAt: app.createdAt.toISOString(),
    updatedAt: app.updatedAt.toISOString(),
  };
}

export function presentEnvironment(env: EnvironmentRow) {
  return {
    id: env.id,
    name: env.name,
    branch: env.branch,
    tagPattern: env.tagPattern,
    replicas: env.replicas,
    port: env.port,
    healthCheck: {
      path: env.healthPath,
      intervalMs: env.healthIntervalMs,
      timeoutMs: env.healthTimeoutMs,
      healthyThreshold: env.healthyThreshold,
      deadlineMs: env.healthDeadlineMs,
    },
    drainTimeoutMs: env.drainTimeoutMs,
    waitForChecks: env.waitForChecks,
    requiredChecks: env.requiredChecks,
    checksTimeoutMs: env.checksTimeoutMs,
    health: env.health,
    configVersion: env.configVersion,
    pullRequest: env.pullRequest,
    fromFork: env.fromFork,
    createdAt: env.createdAt.toISOString(),
    updatedAt: env.updatedAt.toISOString(),
  };
}

/** Response schemas, for the OpenAPI document. */
export const appResponse = z.object({
  id: z.string(),
  name: z.string(),
  repository: z.object({ fullName: z.string(), cloneUrl: z.string() }).nullable(),
  repositoryCredentials: z.boolean().describe('the app holds credentials for its repository (never shown)'),
  registryCredentials: z
    .boolean()
    .describe('the app holds credentials that pull its prebuilt images (GET /apps/:app/registry-credentials names the registry)'),
  defaultBranch: z.string(),
  dockerfilePath: z.string(),
  configPath: z.string().describe('where the app’s pier.json is read at each built commit'),
  previewsEnabled: z.boolean().describe('pull requests get a pr-<number> preview environment'),
  forkPreviews: z.boolean().describe('pull requests from forks are previewed too, without the app’s variables'),
  previewDatabase: z.boolean().describe('each preview gets a fresh managed Postgres of its own'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const environmentResponse = z.object({
  id: z.string(),
  name: z.string(),
  branch: z.string().nullable(),
  tagPattern: z.string().nullable(),
  replicas: z.number(),
  port: z.number().nullable().describe('port the app listens on; null: pier.json, else the image’s one EXPOSEd port, else 8080'),
  healthCheck: z.object({
    path: z.string().nullable().describe('a path, "tcp", or null: automatic (/health when it answers 2xx, else / below 500)'),
    intervalMs: z.number(),
    timeoutMs: z.number(),
    healthyThreshold: z.number(),
    deadlineMs: z.number(),
  }),
  drainTimeoutMs: z.number(),
  waitForChecks: z
    .boolean()
    .nullable()
    .describe("pushes wait for GitHub's checks; null: the default (staging, once the repository's webhook reports checks)"),
  requiredChecks: z.array(z.string()).nullable().describe('checks that must pass; null: every check reported'),
  checksTimeoutMs: z.number(),
  health: z.string().describe('ok, or crash-looping while replicas keep dying'),
  configVersion: z.number(),
  pullRequest: z.number().nullable().describe('the pull request a preview environment follows; null otherwise'),
  fromFork: z.boolean().describe('a preview of a pull request from a fork: built without the app’s variables'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const variableResponse = z.object({
  key: z.string(),
  value: z.string().nullable().describe('null unless ?reveal=true'),
  updatedAt: z.string(),
});

export const tokenResponse = z.object({
  id: z.string(),
  name: z.string(),
  displayPrefix: z.string(),
  app: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});

export function presentDeployment(d: DeploymentRow, app: string, environment: string) {
  return {
    id: d.id,
    app,
    environment,
    state: d.state,
    trigger: d.trigger,
    ref: d.gitRef,
    commit: d.commitSha,
    image: d.imageId ? { id: d.imageId, tag: d.commitSha ? `pier/${app}:${d.commitSha}` : null } : null,
    prebuiltImage: d.image,
    reason: d.reason,
    cancelRequested: d.cancelRequestedAt !== null,
    queuedAt: d.queuedAt.toISOString(),
    buildStartedAt: d.buildStartedAt?.toISOString() ?? null,
    buildFinishedAt: d.buildFinishedAt?.toISOString() ?? null,
    finishedAt: d.finishedAt?.toISOString() ?? null,
  };
}

export const deploymentResponse = z.object({
  id: z.string(),
  app: z.string(),
  environment: z.string(),
  state: z.enum(DEPLOYMENT_STATES),
  trigger: z.string(),
  ref: z.string().nullable(),
  commit: z.string().nullable(),
  image: z.object({ id: z.string(), tag: z.string().nullable() }).nullable(),
  prebuiltImage: z.string().nullable().describe('the image built elsewhere this deployment pulls instead of building'),
  reason: z.string().nullable(),
  cancelRequested: z.boolean(),
  queuedAt: z.string(),
  buildStartedAt: z.string().nullable(),
  buildFinishedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  events: z
    .array(z.object({ from: z.string().nullable(), to: z.string(), message: z.string().nullable(), at: z.string() }))
    .optional(),
  checks: z
    .object({
      required: z.array(z.string()).nullable().describe('null: every check reported'),
      deadlineAt: z.string().nullable().describe('skipped when they have not passed by then'),
      waitingFor: z.array(z.string()).describe('checks still running or not reported (empty: none reported yet)'),
      results: z.array(z.object({ kind: z.string(), name: z.string(), conclusion: z.string() })),
    })
    .nullable()
    .optional()
    .describe("what a deployment waiting for GitHub's checks waits for"),
});
