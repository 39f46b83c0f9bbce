import { type AppQuotas, type AppUsage, NotFoundError, QuotaRefusedError, quotaProblem } from '@pier/core';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps } from '../schema.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * In the caller's transaction: what the app uses of its quotas, with its row
 * locked until the transaction ends, so two requests (or two webhook
 * deliveries) that each fit cannot together pass a quota.
 */
export async function lockAppUsage(tx: Tx, appId: string): Promise<AppUsage> {
  // NO KEY UPDATE: rows of the app's that the transaction already wrote hold KEY SHARE on it (foreign keys); a
  // plain UPDATE lock would deadlock with another transaction holding the same.
  const [locked] = await tx.select({ id: apps.id }).from(apps).where(eq(apps.id, appId)).for('no key update');
  if (!locked) throw new NotFoundError('app not found');
  const [row] = await tx.execute<{
    environments: number;
    previews: number;
    fork_previews: number;
    replicas: number;
    domains: number;
  }>(sql`
    select
      count(*) filter (where e.pull_request is null)::int as environments,
      count(*) filter (where e.pull_request is not null)::int as previews,
      count(*) filter (where e.pull_request is not null and e.from_fork)::int as fork_previews,
      (coalesce(sum(e.replicas), 0) + (
        -- Every other process type of each live release, at its own count or the default one replica.
        select coalesce(sum(coalesce(p.replicas, 1)), 0)
        from environments pe
        join releases r on r.id = pe.live_release_id
        cross join lateral jsonb_object_keys(r.processes) as t(type)
        left join environment_processes p on p.environment_id = pe.id and p.type = t.type
        where pe.app_id = ${appId} and t.type <> 'web'))::int as replicas,
      (select count(*) from domains d join environments de on de.id = d.environment_id where de.app_id = ${appId})::int as domains
    from environments e where e.app_id = ${appId}`);
  return {
    environments: row?.environments ?? 0,
    previews: row?.previews ?? 0,
    forkPreviews: row?.fork_previews ?? 0,
    replicas: row?.replicas ?? 0,
    domains: row?.domains ?? 0,
  };
}

/** In the caller's transaction: throws QuotaRefusedError (a ConflictError) naming `field` when `added` breaks one of the app's quotas. */
export async function assertWithinQuotas(
  tx: Tx,
  appId: string,
  quotas: AppQuotas,
  added: Partial<AppUsage>,
  field: string,
): Promise<void> {
  const problem = quotaProblem(quotas, await lockAppUsage(tx, appId), added);
  if (problem) throw new QuotaRefusedError(`${field}: ${problem}`, appId);
}
