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

/** GET /events/kinds: every kind of event with its severity (a severity filter is sent as its kinds). */
export interface EventKindInfo {
  kind: string;
  severity: EventSeverity;
  scope: 'app' | 'host';
}
