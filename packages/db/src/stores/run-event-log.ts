import { cronFailedEvent } from '@pier/core';
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps, environments, runs } from '../schema.ts';
import { recordEventIn } from './deployment-event-log.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Records `cron.failed` (core's `cronFailedEvent`) for those of `ended` that
 * are cron runs and failed: called where runs end (`finish`, `failExpired`),
 * so a cron run that failed in any way is reported once.
 */
export async function recordCronFailures(tx: Tx | Db, ended: readonly { id: string }[]): Promise<void> {
  if (ended.length === 0) return;
  const failed = await tx
    .select({
      runId: runs.id,
      cronName: runs.cronName,
      slot: runs.slot,
      reason: runs.reason,
      exitCode: runs.exitCode,
      appId: runs.appId,
      appName: apps.name,
      environmentId: runs.environmentId,
      envName: environments.name,
    })
    .from(runs)
    .innerJoin(environments, eq(environments.id, runs.environmentId))
    .innerJoin(apps, eq(apps.id, runs.appId))
    .where(
      and(
        inArray(
          runs.id,
          ended.map((r) => r.id),
        ),
        eq(runs.kind, 'cron'),
        eq(runs.state, 'failed'),
      ),
    );
  for (const run of failed) {
    if (run.cronName) await recordEventIn(tx, cronFailedEvent({ ...run, cronName: run.cronName }));
  }
}
