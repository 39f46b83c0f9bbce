import type { NewEvent } from './events.ts';

/** A backup that reached its end, with what it belongs to. */
export interface BackupFacts {
  /** A managed service's (`service`) or an app volume's (`volume`). */
  of: 'service' | 'volume';
  backupId: string;
  /** The service's or the volume's name. */
  name: string;
  /** `scheduled`, `manual`, `release` (before a release command), … */
  trigger: string;
  state: 'good' | 'failed';
  error: string | null;
  sizeBytes: number | null;
  /** The app (and environment) it belongs to; a managed service may belong to none. */
  appId: string | null;
  appName: string | null;
  environmentId: string | null;
  envName: string | null;
}

/** Longest cause kept in a failed backup's event (the rest is in the backup's record). */
const CAUSE_MAX = 500;

/**
 * `backup.succeeded` for a backup verified good, `backup.failed` with its
 * cause otherwise; once per backup and outcome (a verification run again
 * that ends the same way records nothing more).
 */
export function backupEvent(facts: BackupFacts): NewEvent {
  const where = facts.appName ? `${facts.appName}${facts.envName ? ` ${facts.envName}` : ''}: ` : '';
  const what = `the ${facts.trigger} backup of ${facts.of === 'service' ? 'managed service' : 'volume'} ${facts.name}`;
  const size = facts.sizeBytes === null ? '' : ` (${(facts.sizeBytes / 1024 ** 2).toFixed(1)} MiB)`;
  const cause = (facts.error ?? 'no reason given').slice(0, CAUSE_MAX);
  return {
    kind: facts.state === 'good' ? 'backup.succeeded' : 'backup.failed',
    appId: facts.appId,
    environmentId: facts.environmentId,
    envName: facts.envName,
    message: facts.state === 'good' ? `${where}${what} is good${size}, verified.` : `${where}${what} failed: ${cause}`,
    data: {
      [facts.of]: facts.name,
      backupId: facts.backupId,
      trigger: facts.trigger,
      sizeBytes: facts.sizeBytes,
      ...(facts.state === 'failed' ? { error: cause } : {}),
    },
    dedupeKey: `backup:${facts.backupId}:${facts.state}`,
  };
}
