import type { Run } from '@pier/client';
/** The API's answers the processes and settings pages read (routes processes, releases' status, cron, runs, tokens, notifications, metrics). */

export interface ProcessView {
  type: string;
  /** null: the image's own command. */
  command: string | null;
  replicas: number;
  running: number;
  memoryMb: number;
  cpus: number;
  limitsSource: 'api' | 'pier.json' | 'default';
  health: string;
  restartStreak: number;
  lastExit: string | null;
}

export interface ProcessesAnswer {
  release: number | null;
  processes: ProcessView[];
}

export interface ReplicaView {
  id: string;
  name: string;
  process: string;
  release: number | null;
  state: string;
  healthy: boolean | null;
  address: { host: string; port: number } | null;
  unhealthySince: string | null;
  createdAt: string;
}

/** The part of `GET …/status` the processes page shows. */
export interface EnvironmentStatus {
  health: string;
  restartStreak: number;
  nextRestartAt: string | null;
  desiredReplicas: number;
  liveRelease: { version: number } | null;
  rollout: { state: string; reason: string | null; to: number | null } | null;
  replicas: ReplicaView[];
}

export type Command = string | string[];

/** A run (GET …/runs/:run), as the CLI reads it too. */
export type RunView = Run;

export interface CronJobView {
  name: string;
  source: 'api' | 'pier.json';
  schedule: string;
  timeZone: string | null;
  command: Command;
  timeoutSeconds: number;
  concurrency: string;
  nextRunAt: string | null;
  problem: string | null;
  lastRun: { id: string; state: string; slot: string | null; exitCode: number | null; reason: string | null } | null;
}

export interface TokenView {
  id: string;
  name: string;
  displayPrefix: string;
  app: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export type ChannelKind = 'webhook' | 'slack' | 'email';

export interface ChannelView {
  name: string;
  kind: ChannelKind;
  target: string;
  enabled: boolean;
  events: string[];
  apps: string[];
  createdAt: string;
}

export interface DeliveryView {
  id: number;
  kind: string;
  state: 'pending' | 'sent' | 'suppressed' | 'dead';
  attempts: number;
  lastError: string | null;
  createdAt: string;
  nextAttemptAt: string | null;
  sentAt: string | null;
}

export interface DiskView {
  totalBytes: number;
  freeBytes: number;
}

export interface HostPoint {
  at: string;
  node: string;
  cpuBusy: number;
  cpus: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  load: { load1: number; load5: number; load15: number };
  disks: { root: DiskView; docker: DiskView | null };
}

/** A command as the user typed it: a string as is, an argument list joined (quoted where it has spaces). */
export function commandText(command: Command | null): string {
  if (command === null) return '';
  if (typeof command === 'string') return command;
  return command.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** Whether a run is over (its output stream ends with `end`). */
export function runEnded(state: string): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'skipped';
}
