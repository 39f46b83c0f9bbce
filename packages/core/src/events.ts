/**
 * What Pier records happening to an app or to the host: each kind with its
 * severity and whether it is about an app (`app`) or the machine (`host`).
 * Subscriptions name these kinds; an unknown kind is refused.
 */
export const EVENT_KINDS = {
  'deploy.queued': { severity: 'info', scope: 'app' },
  'deploy.live': { severity: 'info', scope: 'app' },
  'deploy.failed': { severity: 'critical', scope: 'app' },
  'deploy.rollback': { severity: 'warning', scope: 'app' },
  'deploy.promotion': { severity: 'info', scope: 'app' },
  /** Rolled back on its own: the new release answered errors or restarted more than the one before. */
  'deploy.auto_rollback': { severity: 'critical', scope: 'app' },
  'crash.loop': { severity: 'critical', scope: 'app' },
  'crash.oom': { severity: 'critical', scope: 'app' },
  'health.failing': { severity: 'warning', scope: 'app' },
  'backup.succeeded': { severity: 'info', scope: 'app' },
  'backup.failed': { severity: 'critical', scope: 'app' },
  'backup.missed': { severity: 'critical', scope: 'app' },
  'cron.failed': { severity: 'warning', scope: 'app' },
  'cron.missed': { severity: 'warning', scope: 'app' },
  'certificate.renewed': { severity: 'info', scope: 'app' },
  'certificate.renewal_failing': { severity: 'warning', scope: 'app' },
  'certificate.expiring': { severity: 'critical', scope: 'app' },
  'capacity.refused': { severity: 'warning', scope: 'app' },
  'quota.refused': { severity: 'warning', scope: 'app' },
  'drain.failing': { severity: 'warning', scope: 'app' },
  'host.disk': { severity: 'critical', scope: 'host' },
  'host.memory': { severity: 'critical', scope: 'host' },
  /** A condition that fired (disk, memory) is back below its threshold. */
  'host.recovered': { severity: 'info', scope: 'host' },
} as const satisfies Record<string, { severity: EventSeverity; scope: 'app' | 'host' }>;

export type EventKind = keyof typeof EVENT_KINDS;
export type EventSeverity = 'info' | 'warning' | 'critical';

export function isEventKind(kind: string): kind is EventKind {
  return Object.hasOwn(EVENT_KINDS, kind);
}

/** One event to record. An app's event names the app (and the environment when it has one). */
export interface NewEvent {
  kind: EventKind;
  message: string;
  appId?: string | null;
  environmentId?: string | null;
  envName?: string | null;
  /** Facts for machines (release version, exit code, …); never secrets. */
  data?: Record<string, unknown>;
  /** Records it at most once: a later event with the same key is dropped. */
  dedupeKey?: string;
}

/**
 * Port: where events are recorded. `record` never throws for a duplicate
 * `dedupeKey` (it returns null), and never fails the caller's own work: an
 * adapter that cannot record logs and returns null. Implemented by
 * `EventStore` in @pier/db.
 */
export interface EventRecorder {
  record(event: NewEvent): Promise<number | null>;
}
