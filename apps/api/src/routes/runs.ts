import { ConflictError, NotFoundError, type Principal } from '@pier/core';
import type { RunRow } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { envParams, name } from '../schemas.ts';
import { streamRunOutput } from './run-output-stream.ts';

/** A one-off run's time limit when none is asked for. */
export const RUN_DEFAULT_TIMEOUT_SECONDS = 600;

/** A string (run by `/bin/sh -c`) or a non-empty argument list (run as it is, after the image's entrypoint). */
export const runCommand = z
  .union([z.string().trim().min(1).max(8192), z.array(z.string().max(8192)).min(1).max(256)], {
    error: 'must be a non-empty string (run by /bin/sh -c) or a non-empty array of strings (run as it is)',
  })
  .describe('A string, run by `/bin/sh -c`; or an argument list, run as it is (after the image’s entrypoint)');

/** Seconds a run may take before it is stopped. */
export const timeoutSeconds = z.int().min(1).max(86_400).describe('Seconds before it is stopped (at most 86400)');

const runBody = z
  .strictObject({
    command: runCommand,
    releaseId: z.uuid().optional().describe('a release of the environment to run in (default: the live one)'),
    release: z.int().min(1).optional().describe('the version of a release of the environment to run in'),
    timeoutSeconds: timeoutSeconds.optional().describe(`Seconds before it is stopped (default ${RUN_DEFAULT_TIMEOUT_SECONDS})`),
    memoryMb: z.int().min(32).max(1_048_576).optional().describe('Memory limit in MiB (default: the web type’s)'),
    cpus: z.number().min(0.05).max(256).optional().describe('CPU limit in cores (default: the web type’s)'),
  })
  .refine((b) => b.releaseId === undefined || b.release === undefined, {
    path: ['release'],
    error: 'give releaseId or release, not both',
  });

const runParams = z.strictObject({ app: name, env: name, run: z.uuid() });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional().describe('at most this many (default 50)'),
});
const outputQuery = z.strictObject({
  follow: z.enum(['1', 'true', '0', 'false']).optional().describe('default 1: Server-Sent Events until the run ends'),
  after: z.coerce.number().int().min(0).optional().describe('only lines after this id'),
});

const runResponse = z.object({
  id: z.string(),
  kind: z.string(),
  cron: z.string().nullable(),
  slot: z.string().nullable(),
  command: z.union([z.string(), z.array(z.string())]),
  release: z.number().nullable(),
  state: z.string(),
  exitCode: z.number().nullable(),
  reason: z.string().nullable(),
  startedBy: z.string(),
  timeoutSeconds: z.number(),
  memoryMb: z.number().nullable(),
  cpus: z.number().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
});

export function presentRun(run: RunRow, versions: ReadonlyMap<string, number>) {
  return {
    id: run.id,
    kind: run.kind,
    cron: run.cronName,
    slot: run.slot?.toISOString() ?? null,
    command: run.command as string | string[],
    release: run.releaseId ? (versions.get(run.releaseId) ?? null) : null,
    state: run.state,
    exitCode: run.exitCode,
    reason: run.reason,
    startedBy: run.startedBy,
    timeoutSeconds: run.timeoutSeconds,
    memoryMb: run.memoryMb,
    cpus: run.cpus,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    durationMs: run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
  };
}

/** Release id → version, of an environment's releases. */
export async function releaseVersions(deps: Pick<ApiDeps, 'releases'>, environmentId: string): Promise<Map<string, number>> {
  return new Map((await deps.releases.list(environmentId, 1000)).map((r) => [r.id, r.version]));
}

/** Who asked, as a run records it: the token's name (`admin` for the admin token of the configuration). */
export async function principalName(deps: Pick<ApiDeps, 'tokens'>, principal: Principal): Promise<string> {
  if (!principal.tokenId) return 'admin';
  const token = (await deps.tokens.list()).find((t) => t.id === principal.tokenId);
  return token?.name ?? `token ${principal.tokenId}`;
}

/** The refusal of a run in an environment that has nothing deployed. */
export function noLiveRelease(app: string, env: string): ConflictError {
  return new ConflictError(`${app}/${env} has no live release to run it in: deploy it first, or name a release`);
}

/**
 * One-off commands in a container of the environment's live release (or a
 * named one), with its variables and links: queued here, started by a worker
 * (the API starts no container), their output kept and streamed.
 */
export function runRoutes(deps: ApiDeps) {
  const { apps, environments, runs, releases } = deps;
  async function environmentOf(principal: Principal, appName: string, envName: string) {
    const app = await apps.get(principal, appName);
    return { app, env: await environments.get(app.id, envName) };
  }

  return [
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/runs',
      summary:
        'Run a command once in a new container of the live release (or `release`/`releaseId`); 202 with the run, whose output `GET …/runs/:run/output` streams',
      tag: 'runs',
      params: envParams,
      body: runBody,
      status: 202,
      response: runResponse,
      handler: async ({ params, body, principal }) => {
        const { app, env } = await environmentOf(principal, params.app, params.env);
        const all = await releases.list(env.id, 1000);
        const release =
          body.releaseId !== undefined
            ? all.find((r) => r.id === body.releaseId)
            : body.release !== undefined
              ? all.find((r) => r.version === body.release)
              : all.find((r) => r.id === env.liveReleaseId);
        if (!release && (body.releaseId !== undefined || body.release !== undefined))
          throw new NotFoundError(`release ${body.releaseId ?? `v${body.release}`} of ${app.name}/${env.name} not found`);
        if (!release) throw noLiveRelease(app.name, env.name);
        const run = await runs.create({
          appId: app.id,
          environmentId: env.id,
          releaseId: release.id,
          kind: 'run',
          command: body.command,
          timeoutSeconds: body.timeoutSeconds ?? RUN_DEFAULT_TIMEOUT_SECONDS,
          memoryMb: body.memoryMb ?? null,
          cpus: body.cpus ?? null,
          startedBy: await principalName(deps, principal),
        });
        return presentRun(run, new Map(all.map((r) => [r.id, r.version])));
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/runs',
      summary: 'Runs of the environment (one-off and cron), newest first',
      tag: 'runs',
      params: envParams,
      query: listQuery,
      response: z.object({ runs: z.array(runResponse) }),
      handler: async ({ params, query, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const rows = await runs.list(env.id, { limit: query.limit ?? 50 });
        const versions = await releaseVersions(deps, env.id);
        return { runs: rows.map((r) => presentRun(r, versions)) };
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/runs/:run',
      summary: 'A run: its state, exit code, duration, reason and who started it',
      tag: 'runs',
      params: runParams,
      response: runResponse,
      handler: async ({ params, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        return presentRun(await runs.ofEnvironment(env.id, params.run), await releaseVersions(deps, env.id));
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/runs/:run/output',
      summary:
        'A run’s output as Server-Sent Events (`line` events, then `end` with state, exit code and reason); `?follow=0`: what is stored, as JSON',
      tag: 'runs',
      params: runParams,
      query: outputQuery,
      response: z.object({ lines: z.array(z.object({ id: z.number(), stream: z.string(), line: z.string(), at: z.string() })) }),
      handler: async ({ params, query, principal, request, reply }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const run = await runs.ofEnvironment(env.id, params.run);
        if (query.follow !== '0' && query.follow !== 'false') {
          const after = query.after ?? Number(request.headers['last-event-id'] ?? 0);
          await streamRunOutput(runs, run.id, Number.isFinite(after) ? after : 0, request, reply);
          return reply;
        }
        const lines = await runs.lines(run.id, query.after ?? 0);
        return { lines: lines.map((l) => ({ ...l, at: l.at.toISOString() })) };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/runs/:run/cancel',
      summary: 'Stop a run: a queued one is cancelled at once, a running one is stopped (SIGTERM, then SIGKILL) by its worker',
      tag: 'runs',
      params: runParams,
      status: 202,
      response: runResponse,
      handler: async ({ params, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const run = await runs.ofEnvironment(env.id, params.run);
        return presentRun(await runs.requestCancel(run.id), await releaseVersions(deps, env.id));
      },
    }),
  ];
}
