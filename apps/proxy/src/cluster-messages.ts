import type { ProxyConfig } from '@pier/config';
import type { RequestBucket, Route } from '@pier/core';
import type { MetricsTotals } from '@pier/proxy';
import type { LoadedCertificate } from './tls-certificates.ts';

/**
 * What the proxy's first process (the primary: routes, certificates, health
 * checks, metrics to Postgres) and the processes that serve (the edge
 * workers, `node:cluster`) say to each other. Sent with the `advanced`
 * serialization, so dates and buffers arrive as such.
 */
/** Settings whose values open the database or the sealed certificate keys: the serving processes never get them. */
export const PRIMARY_ONLY = [
  'DATABASE_URL',
  'PIER_PROXY_DATABASE_URL',
  'PIER_PROXY_KEY',
  'PIER_PROXY_KEYS_PREVIOUS',
  'REDIS_URL',
] as const;

/** The proxy's settings as a serving process gets them. */
export type ServingConfig = Omit<ProxyConfig, (typeof PRIMARY_ONLY)[number]>;

/** `config` without what only the primary may hold. */
export function servingConfig(config: ProxyConfig): ServingConfig {
  const copy: Partial<ProxyConfig> = { ...config };
  for (const name of PRIMARY_ONLY) delete copy[name];
  return copy as ServingConfig;
}

export type PrimaryMessage =
  | {
      kind: 'init';
      config: ServingConfig;
      fallback: { cert: string; key: string };
      routes: Route[];
      unhealthy: string[];
      certificates: LoadedCertificate[];
    }
  | { kind: 'routes'; routes: Route[] }
  | { kind: 'health'; upstreamId: string; healthy: boolean }
  | { kind: 'certificates'; certificates: LoadedCertificate[] }
  /** `failed`: the lookup itself failed (Postgres down), which the serving process reports as such. */
  | { kind: 'challenge-answer'; id: number; answer: string | null; failed?: boolean }
  /** Send what you counted now (for `/metrics` and `/health`). */
  | { kind: 'report' }
  | { kind: 'shutdown' };

export type WorkerMessage =
  | { kind: 'hello' }
  | { kind: 'listening' }
  | { kind: 'startup-error'; message: string }
  | { kind: 'suspect'; upstreamId: string }
  | { kind: 'challenge'; id: number; token: string; hostname: string }
  | { kind: 'metrics'; buckets: RequestBucket[]; totals: MetricsTotals };

/** How often an edge worker sends what it counted to the primary. */
export const METRICS_REPORT_MS = 1_000;

/** Tells the two kinds of message apart from anything else on the channel (cluster's own messages). */
export function isMessage<T extends { kind: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}
