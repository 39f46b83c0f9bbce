/** The API's answers the logs, metrics and events pages read (see apps/api/src/routes/{environment-log-stream,metrics,events}.ts). */

/** One stored log line: `GET …/environments/:env/logs` and each `line` event of `?follow=1`. */
export interface LogLine {
  id: number;
  at: string;
  replica: string;
  process: string;
  release: number | null;
  stream: string;
  line: string;
}

export interface LogsAnswer {
  lines: LogLine[];
  truncated?: boolean;
}

export interface RequestPoint {
  at: string;
  requests: number;
  perSecond: number;
  byClass: Record<string, number>;
  errorRate: number | null;
  latency: { p50: number | null; p95: number | null; p99: number | null };
}

export interface ReplicaPoint {
  at: string;
  cpuCores: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
}

/** `GET …/environments/:env/metrics`: buckets of `step` seconds from `since` to `until`. */
export interface EnvironmentMetrics {
  since: string;
  until: string;
  step: number;
  /** Buckets with requests only. */
  requests: RequestPoint[];
  processes: {
    type: string;
    replicas: { replica: string; releaseId: string | null; points: ReplicaPoint[] }[];
  }[];
}

export type EventSeverity = 'info' | 'warning' | 'critical';

/** One entry of the event log (`GET /events`, `GET /apps/:app/events`). */
export interface PierEvent {
  id: number;
  at: string;
  kind: string;
  severity: string;
  app: string | null;
  env: string | null;
  message: string;
}

export interface EventPage {
  events: PierEvent[];
  /** `before` of the next (older) page; null on the last. */
  next: number | null;
}

/**
 * Every kind of event and its severity, as core's EVENT_KINDS (packages/core/src/events.ts) defines them:
 * the dashboard may not import the server's packages, so a kind added there is added here too.
 * A severity filter is sent as the kinds of that severity (the API filters by kind only).
 */
export const EVENT_KINDS: Readonly<Record<string, EventSeverity>> = {
  'deploy.queued': 'info',
  'deploy.live': 'info',
  'deploy.failed': 'critical',
  'deploy.rollback': 'warning',
  'deploy.promotion': 'info',
  'deploy.auto_rollback': 'critical',
  'crash.loop': 'critical',
  'crash.oom': 'critical',
  'health.failing': 'warning',
  'backup.succeeded': 'info',
  'backup.failed': 'critical',
  'backup.missed': 'critical',
  'cron.failed': 'warning',
  'cron.missed': 'warning',
  'certificate.renewed': 'info',
  'certificate.renewal_failing': 'warning',
  'certificate.expiring': 'critical',
  'capacity.refused': 'warning',
  'quota.refused': 'warning',
  'drain.failing': 'warning',
  'host.disk': 'critical',
  'host.memory': 'critical',
  'host.recovered': 'info',
};
