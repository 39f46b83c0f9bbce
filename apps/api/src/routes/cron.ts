import { ConflictError, cronProblem, NotFoundError, nextCronTime, parseCron, timeZoneProblem, ValidationError } from '@pier/core';
import type { CronJob, RunRow } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { envParams, name } from '../schemas.ts';
import { noLiveRelease, presentRun, principalName, releaseVersions, runCommand, timeoutSeconds } from './runs.ts';

/** A cron run's time limit when its job sets none (as the worker's scheduler). */
const CRON_DEFAULT_TIMEOUT_SECONDS = 3600;

const cronParams = z.strictObject({ app: name, env: name, name });
const cronBody = z.strictObject({
  schedule: z.string().max(200).describe('Five-field cron (minute hour day-of-month month day-of-week), or @hourly, @daily, …'),
  command: runCommand,
  timeoutSeconds: timeoutSeconds.optional().describe(`Seconds before a run is stopped (default ${CRON_DEFAULT_TIMEOUT_SECONDS})`),
  timeZone: z.string().max(64).optional().describe('IANA time zone the schedule is read in (default UTC)'),
  concurrency: z
    .enum(['forbid', 'allow'])
    .optional()
    .describe('forbid (default): a slot that comes while the last run still runs is skipped; allow: runs may overlap'),
});

const lastRunResponse = z
  .object({
    id: z.string(),
    state: z.string(),
    slot: z.string().nullable(),
    exitCode: z.number().nullable(),
    reason: z.string().nullable(),
  })
  .nullable();
const jobResponse = z.object({
  name: z.string(),
  source: z.enum(['api', 'pier.json']),
  schedule: z.string(),
  timeZone: z.string().nullable(),
  command: z.union([z.string(), z.array(z.string())]),
  timeoutSeconds: z.number(),
  concurrency: z.string(),
  nextRunAt: z.string().nullable(),
  /** Why the scheduler cannot run the job (a schedule or time zone it cannot read, kept by an older release), or null. */
  problem: z.string().nullable(),
  lastRun: lastRunResponse,
});

function presentLastRun(run: RunRow | undefined) {
  return run
    ? { id: run.id, state: run.state, slot: run.slot?.toISOString() ?? null, exitCode: run.exitCode, reason: run.reason }
    : null;
}

/** The job's next slot after `now`, or why it has none: a job the scheduler cannot read is listed with its problem. */
function nextRun(job: CronJob, now: Date): { nextRunAt: string | null; problem: string | null } {
  try {
    const next = nextCronTime(parseCron(job.schedule, job.timeZone ?? undefined), now);
    return { nextRunAt: next?.toISOString() ?? null, problem: null };
  } catch (err) {
    return { nextRunAt: null, problem: `${(err as Error).message}; the scheduler does not run it` };
  }
}

function presentJob(job: CronJob, last: RunRow | undefined, now: Date) {
  return {
    name: job.name,
    source: job.source,
    schedule: job.schedule,
    timeZone: job.timeZone,
    command: job.command,
    timeoutSeconds: job.timeoutSeconds ?? CRON_DEFAULT_TIMEOUT_SECONDS,
    concurrency: job.concurrency,
    ...nextRun(job, now),
    lastRun: presentLastRun(last),
  };
}

/**
 * Each cron job of an environment with how its last run went (the `cron` of
 * its status): a failed or skipped last run shows here.
 */
export async function cronStatus(deps: Pick<ApiDeps, 'cron' | 'runs'>, environmentId: string) {
  const jobs = await deps.cron.jobs(environmentId);
  const last = await deps.runs.lastCronRuns(environmentId);
  return jobs.map((job) => ({ name: job.name, source: job.source, lastRun: presentLastRun(last.get(job.name)) }));
}

/**
 * Cron jobs of an environment: declared here (create or replace, delete) or
 * in the repository's pier.json (read-only here), with their runs; a run now.
 * The worker's scheduler queues each slot's run.
 */
export function cronRoutes(deps: ApiDeps) {
  const { apps, environments, cron, runs } = deps;
  async function environmentOf(principal: Parameters<typeof apps.get>[0], appName: string, envName: string) {
    const app = await apps.get(principal, appName);
    return { app, env: await environments.get(app.id, envName) };
  }
  async function jobOf(environmentId: string, jobName: string, where: string): Promise<CronJob> {
    const job = (await cron.jobs(environmentId)).find((j) => j.name === jobName);
    if (!job) throw new NotFoundError(`cron job ${jobName} not found in ${where}`);
    return job;
  }

  return [
    route({
      method: 'PUT',
      url: '/apps/:app/environments/:env/cron/:name',
      summary: 'Create or replace a cron job (it wins over a pier.json job of the same name)',
      tag: 'cron',
      params: cronParams,
      body: cronBody,
      response: jobResponse,
      otherStatuses: { 201: 'created' },
      handler: async ({ params, body, principal, reply }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const problem = cronProblem(body.schedule);
        if (problem) throw new ValidationError(`body.schedule: ${problem}`, 'body.schedule');
        const zoneProblem = body.timeZone === undefined ? undefined : timeZoneProblem(body.timeZone);
        if (zoneProblem) throw new ValidationError(`body.timeZone: ${zoneProblem}`, 'body.timeZone');
        const { created } = await cron.put(env.id, { name: params.name, ...body });
        if (created) reply.code(201);
        const job = await jobOf(env.id, params.name, `${params.app}/${params.env}`);
        return presentJob(job, (await runs.lastCronRuns(env.id)).get(job.name), new Date());
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/cron',
      summary: 'Cron jobs (the API’s and the live release’s pier.json ones), each with its next slot and its last run',
      tag: 'cron',
      params: envParams,
      response: z.object({ jobs: z.array(jobResponse) }),
      handler: async ({ params, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const last = await runs.lastCronRuns(env.id);
        const now = new Date();
        return { jobs: (await cron.jobs(env.id)).map((job) => presentJob(job, last.get(job.name), now)) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/environments/:env/cron/:name',
      summary: 'Delete a cron job declared through the API (its runs stay until retention removes them)',
      tag: 'cron',
      params: cronParams,
      status: 204,
      handler: async ({ params, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        if (await cron.delete(env.id, params.name)) return;
        const job = await jobOf(env.id, params.name, `${params.app}/${params.env}`);
        throw new ConflictError(
          `cron job ${job.name} comes from the repository's pier.json: remove it there and deploy, or replace it here with PUT`,
        );
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/cron/:name/runs',
      summary: 'Runs of a cron job, newest first: state (succeeded, failed, skipped, …), exit code, duration and reason',
      tag: 'cron',
      params: cronParams,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).optional() }),
      handler: async ({ params, query, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const rows = await runs.list(env.id, { cronName: params.name, limit: query.limit ?? 50 });
        if (rows.length === 0) await jobOf(env.id, params.name, `${params.app}/${params.env}`);
        const versions = await releaseVersions(deps, env.id);
        return { runs: rows.map((r) => presentRun(r, versions)) };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/cron/:name/run',
      summary:
        'Run a cron job now, outside its schedule (in the live release); under forbid, 409 while a run of it is queued or running',
      tag: 'cron',
      params: cronParams,
      status: 202,
      handler: async ({ params, principal }) => {
        const { app, env } = await environmentOf(principal, params.app, params.env);
        const job = await jobOf(env.id, params.name, `${params.app}/${params.env}`);
        if (!env.liveReleaseId) throw noLiveRelease(app.name, env.name);
        // Under forbid, refused (409) while a run of the job is queued or running, as the scheduler skips a slot then.
        const run = await runs.createCronRun({
          appId: app.id,
          environmentId: env.id,
          kind: 'cron',
          cronName: job.name,
          command: job.command,
          timeoutSeconds: job.timeoutSeconds ?? CRON_DEFAULT_TIMEOUT_SECONDS,
          startedBy: await principalName(deps, principal),
          concurrency: job.concurrency,
        });
        return presentRun(run, await releaseVersions(deps, env.id));
      },
    }),
  ];
}
