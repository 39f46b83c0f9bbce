import type { NewEvent } from './events.ts';

/** A cron run that ended failed. */
export interface CronFailure {
  runId: string;
  cronName: string;
  slot: Date | null;
  /** Why, as the run keeps it (already masked). */
  reason: string | null;
  exitCode: number | null;
  appId: string;
  appName: string;
  environmentId: string;
  envName: string;
}

/** `cron.failed` for a cron run that failed (once per run). */
export function cronFailedEvent(run: CronFailure): NewEvent {
  const slot = run.slot ? ` of ${run.slot.toISOString()}` : '';
  return {
    kind: 'cron.failed',
    appId: run.appId,
    environmentId: run.environmentId,
    envName: run.envName,
    message: `${run.appName} ${run.envName}: cron job ${run.cronName}${slot} failed: ${run.reason ?? 'no reason given'}`,
    data: {
      cron: run.cronName,
      runId: run.runId,
      slot: run.slot?.toISOString() ?? null,
      exitCode: run.exitCode,
      reason: run.reason,
    },
    dedupeKey: `cron.failed:${run.runId}`,
  };
}
