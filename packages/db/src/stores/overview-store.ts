import { sql } from 'drizzle-orm';
import type { Db } from '../client.ts';

/** One environment as the dashboard's apps page shows it. */
export interface EnvironmentOverview {
  app: string;
  repository: string | null;
  environment: string;
  pullRequest: number | null;
  /** `ok`, or `crash-looping`. */
  health: string;
  liveRelease: { version: number; imageRef: string | null; at: Date } | null;
  /** The newest deployment of the environment, whatever its state. */
  lastDeployment: { id: string; state: string; trigger: string; gitRef: string | null; at: Date; finishedAt: Date | null } | null;
}

/**
 * Every app's environments with their live release and newest deployment, in
 * one query (the dashboard's first page, which must stay fast at 100 apps).
 */
export class OverviewStore {
  constructor(private readonly db: Db) {}

  async list(appId: string | null): Promise<EnvironmentOverview[]> {
    const rows = await this.db.execute<{
      app: string;
      repo: string | null;
      env: string;
      pull_request: number | null;
      health: string;
      live_version: number | null;
      live_image: string | null;
      live_at: Date | string | null;
      dep_id: string | null;
      dep_state: string | null;
      dep_trigger: string | null;
      dep_ref: string | null;
      dep_at: Date | string | null;
      dep_finished: Date | string | null;
    }>(sql`
      select a.name as app, a.repo_full_name as repo, e.name as env, e.pull_request, e.health,
             r.version as live_version, r.image_ref as live_image, r.created_at as live_at,
             d.id as dep_id, d.state as dep_state, d.trigger as dep_trigger, d.git_ref as dep_ref,
             d.queued_at as dep_at, d.finished_at as dep_finished
        from apps a
        join environments e on e.app_id = a.id
        left join releases r on r.id = e.live_release_id
        left join lateral (
          select x.id, x.state, x.trigger, x.git_ref, x.queued_at, x.finished_at from deployments x
           where x.environment_id = e.id order by x.queued_at desc limit 1
        ) d on true
       where ${appId === null ? sql`true` : sql`a.id = ${appId}::uuid`}
       order by a.name, e.pull_request nulls first, (e.name <> 'production'), (e.name <> 'staging'), e.name`);
    return [...rows].map((row) => ({
      app: row.app,
      repository: row.repo,
      environment: row.env,
      pullRequest: row.pull_request,
      health: row.health,
      liveRelease:
        row.live_version === null
          ? null
          : { version: row.live_version, imageRef: row.live_image, at: new Date(row.live_at as string) },
      lastDeployment:
        row.dep_id === null
          ? null
          : {
              id: row.dep_id,
              state: row.dep_state as string,
              trigger: row.dep_trigger as string,
              gitRef: row.dep_ref,
              at: new Date(row.dep_at as string),
              finishedAt: row.dep_finished === null ? null : new Date(row.dep_finished),
            },
    }));
  }
}
