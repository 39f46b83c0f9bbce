import { and, asc, eq, getTableColumns, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { cronJobs, environments, releases } from '../schema.ts';
import { jsonText, type RunCommand } from './run-store.ts';

export type CronJobRow = typeof cronJobs.$inferSelect;

/** Every column of `cron_jobs`, the command read safely (see `jsonText`). */
const JOB = { ...getTableColumns(cronJobs), command: jsonText(cronJobs.command) };

export interface CronJobInput {
  name: string;
  schedule: string;
  command: RunCommand;
  timeoutSeconds?: number | null;
  timeZone?: string | null;
  concurrency?: 'forbid' | 'allow';
}

/** A cron job as the scheduler runs it: declared through the API, or in the live release's `pier.json`. */
export interface CronJob {
  name: string;
  source: 'api' | 'pier.json';
  schedule: string;
  command: RunCommand;
  timeoutSeconds: number | null;
  timeZone: string | null;
  concurrency: 'forbid' | 'allow';
  /** Slots before this are not run: the job's creation (API) or the live release's (pier.json). */
  since: Date;
}

/** An environment with a live release and cron jobs. */
export interface CronTarget {
  appId: string;
  environmentId: string;
  jobs: CronJob[];
}

/** A `pier.json` cron job as a release keeps it (`releases.cron`). */
interface RepoCronJob {
  name: string;
  schedule: string;
  command: RunCommand;
  timeout?: number;
  timeZone?: string;
  concurrency?: 'forbid' | 'allow';
}

/** Cron jobs declared through the API (`cron_jobs`), and with those of the live release, every job an environment runs. */
export class CronStore {
  constructor(private readonly db: Db) {}

  /** Creates or replaces the job `input.name`; `created` tells which. */
  async put(environmentId: string, input: CronJobInput): Promise<{ job: CronJobRow; created: boolean }> {
    const values = {
      schedule: input.schedule,
      command: input.command,
      timeoutSeconds: input.timeoutSeconds ?? null,
      timeZone: input.timeZone ?? null,
      concurrency: input.concurrency ?? 'forbid',
      updatedAt: new Date(),
    };
    const [existing] = await this.db
      .select({ id: cronJobs.id })
      .from(cronJobs)
      .where(and(eq(cronJobs.environmentId, environmentId), eq(cronJobs.name, input.name)));
    const [job] = await this.db
      .insert(cronJobs)
      .values({ environmentId, name: input.name, ...values })
      .onConflictDoUpdate({ target: [cronJobs.environmentId, cronJobs.name], set: values })
      .returning(JOB);
    if (!job) throw new Error('upsert returned no row');
    const created = !existing;
    return { job, created };
  }

  /** Deletes an API job; false when there was none of that name. */
  async delete(environmentId: string, name: string): Promise<boolean> {
    const rows = await this.db
      .delete(cronJobs)
      .where(and(eq(cronJobs.environmentId, environmentId), eq(cronJobs.name, name)))
      .returning({ id: cronJobs.id });
    return rows.length > 0;
  }

  /** Every job of the environment: its API jobs and its live release's, an API job winning over a pier.json one of its name. */
  async jobs(environmentId: string): Promise<CronJob[]> {
    const [env] = await this.db
      .select({ cron: releases.cron, releasedAt: releases.createdAt })
      .from(environments)
      .leftJoin(releases, eq(releases.id, environments.liveReleaseId))
      .where(eq(environments.id, environmentId));
    const api = await this.db
      .select(JOB)
      .from(cronJobs)
      .where(eq(cronJobs.environmentId, environmentId))
      .orderBy(asc(cronJobs.name));
    return mergeJobs(api, (env?.cron ?? []) as RepoCronJob[], env?.releasedAt ?? new Date());
  }

  /** The environments that have a live release and at least one cron job, with their jobs. */
  async targets(): Promise<CronTarget[]> {
    const live = await this.db
      .select({
        appId: environments.appId,
        environmentId: environments.id,
        cron: releases.cron,
        releasedAt: releases.createdAt,
      })
      .from(environments)
      .innerJoin(releases, eq(releases.id, environments.liveReleaseId))
      .where(
        and(
          isNotNull(environments.liveReleaseId),
          sql`(${releases.cron} <> '[]'::jsonb or exists (select 1 from cron_jobs c where c.environment_id = ${environments.id}))`,
        ),
      );
    if (live.length === 0) return [];
    const api = await this.db
      .select(JOB)
      .from(cronJobs)
      .where(
        inArray(
          cronJobs.environmentId,
          live.map((l) => l.environmentId),
        ),
      );
    return live.map((l) => ({
      appId: l.appId,
      environmentId: l.environmentId,
      jobs: mergeJobs(
        api.filter((j) => j.environmentId === l.environmentId),
        (l.cron ?? []) as RepoCronJob[],
        l.releasedAt,
      ),
    }));
  }
}

function mergeJobs(api: CronJobRow[], repo: RepoCronJob[], releasedAt: Date): CronJob[] {
  const fromApi: CronJob[] = api.map((j) => ({
    name: j.name,
    source: 'api',
    schedule: j.schedule,
    command: j.command as RunCommand,
    timeoutSeconds: j.timeoutSeconds,
    timeZone: j.timeZone,
    concurrency: j.concurrency === 'allow' ? 'allow' : 'forbid',
    since: j.updatedAt,
  }));
  const names = new Set(fromApi.map((j) => j.name));
  const fromRepo: CronJob[] = repo
    .filter((j) => !names.has(j.name))
    .map((j) => ({
      name: j.name,
      source: 'pier.json',
      schedule: j.schedule,
      command: j.command,
      timeoutSeconds: j.timeout ?? null,
      timeZone: j.timeZone ?? null,
      concurrency: j.concurrency ?? 'forbid',
      since: releasedAt,
    }));
  return [...fromApi, ...fromRepo].sort((a, b) => a.name.localeCompare(b.name));
}
