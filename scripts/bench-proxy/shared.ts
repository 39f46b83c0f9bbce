import { fileURLToPath } from 'node:url';

/** Shared by the bench's modules; the entry point re-runs itself in child roles. */
/** The bench's entry point: child processes run it again with a role argument. */
export const SELF = fileURLToPath(new URL('../bench-proxy.ts', import.meta.url));
export const TSX_LOADER = import.meta.resolve('tsx');
export const HOST = 'bench.pier.test';
export const BODY = 'hello, world\n';
export type DataPath = 'undici' | 'http-proxy';
export const DATA_PATHS: DataPath[] = ['undici', 'http-proxy'];

export interface LoadResult {
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  /** CPU time of the measured process tree per request, µs (contention hardly moves it). */
  cpuUsPerRequest?: number;
}

/** A process to load: its port, and the PID whose process tree's CPU time is measured. */
export interface Target {
  name: string;
  port: number;
  pid: number;
}

export interface Settings {
  durationS: number;
  connections: number;
  soak: number;
  upstreamWorkers: number;
  rounds: number;
}

// ───────────────────────────── child roles ─────────────────────────────

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}
