/** Shared by the bench's modules. */
import { fileURLToPath } from 'node:url';

/** The bench's entry point: child processes run it again with a role argument. */
export const SELF = fileURLToPath(new URL('../bench-proxy.ts', import.meta.url));
export const TSX_LOADER = import.meta.resolve('tsx');
export const HOST = 'bench.pier.test';
export const BODY = 'hello, world\n';
/** The upstream answers this path with the forwarding headers it received, as JSON (`checkForwarding`). */
export const HEADERS_PATH = '/headers';
/** What every proxy is expected to tell the upstream about the client. */
export const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id'] as const;
export type DataPath = 'undici' | 'http-proxy';

export interface LoadResult {
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  /** CPU time of the measured process tree per request, µs (contention hardly moves it). */
  cpuUsPerRequest?: number;
}

/** Which kind of proxy a target is, for the comparison at the same process count. */
export type TargetKind = 'upstream' | 'pier' | 'pier-http-proxy' | 'floor' | 'nginx' | 'haproxy' | 'caddy';

/** A process to load: its port, and the PID whose process tree's CPU time is measured. */
export interface Target {
  name: string;
  port: number;
  pid: number;
  kind?: TargetKind;
  /** Processes, workers, threads or GOMAXPROCS: what "the same number" means for this proxy. */
  processes?: number;
}

/** A target and its medians over the rounds. */
export interface Measured {
  target: Target;
  result: LoadResult;
}

export interface Settings {
  durationS: number;
  connections: number;
  soak: number;
  upstreamWorkers: number;
  rounds: number;
  /** Process counts every proxy is measured at: 1 and the CPU count. */
  processCounts: number[];
  /** Also Pier on http-proxy and the node floor (one process each). */
  all: boolean;
  /** Requests per asset of the CDN figures. */
  cdnRequests: number;
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}
