import type { RequestBucket } from '../metric-buckets.ts';

/**
 * Port: where the edge proxy adds what it counted. Contract: `add` adds each
 * bucket's counts to what is stored for the same environment, release, step
 * and time (never replaces them), all buckets or none; it rejects when they
 * cannot be stored, and the proxy keeps them for its next flush. The
 * Postgres adapter is one `insert … on conflict do update` statement.
 */
export interface RequestMetricsSink {
  add(buckets: readonly RequestBucket[], step: number): Promise<void>;
}
