import { FINE_STEP, mergeRequestBuckets, type RequestBucket } from '@pier/core';
import { type MetricsTotals, ProxyMetrics } from './metrics.ts';

/**
 * What the serving processes counted, kept by the proxy's first process when
 * several serve: their request buckets wait here for the `MetricsFlusher`,
 * and `/metrics` renders the sum of their totals. A process that ends leaves
 * its counters in the sum (its gauges go), so counters never go down; what it
 * counted after its last report (at most one report interval) is lost.
 */
export class ClusterMetrics {
  readonly #live = new Map<number, MetricsTotals>();
  readonly #ended = new ProxyMetrics();
  /** Processes already summed into `#ended`: a report of theirs that arrives late is not counted again. */
  readonly #endedIds = new Set<number>();
  /** Buckets are kept only for a flusher to take (`keepBuckets`); without one they would pile up. */
  readonly #keepBuckets: boolean;
  #buckets: RequestBucket[] = [];

  constructor(options: { keepBuckets: boolean }) {
    this.#keepBuckets = options.keepBuckets;
  }

  /** A report from serving process `id`: its new buckets and its totals so far. */
  report(id: number, buckets: readonly RequestBucket[], totals: MetricsTotals): void {
    if (this.#endedIds.has(id)) return;
    this.#live.set(id, totals);
    if (this.#keepBuckets && buckets.length > 0) this.#buckets.push(...buckets);
  }

  /** Serving process `id` ended: its counters stay in the sum, its in-flight and open tunnels do not. */
  ended(id: number): void {
    const last = this.#live.get(id);
    this.#live.delete(id);
    this.#endedIds.add(id);
    if (last) this.#ended.absorb({ ...last, inFlight: 0, tunnels: 0 });
  }

  /** For the flusher: every bucket reported since the last call, as one per environment and release at `at`. */
  takeBuckets(at: Date): RequestBucket[] {
    const taken = this.#buckets;
    this.#buckets = [];
    return mergeRequestBuckets(
      taken.map((bucket) => ({ ...bucket, at })),
      FINE_STEP,
    );
  }

  get inFlight(): number {
    let sum = 0;
    for (const totals of this.#live.values()) sum += totals.inFlight;
    return sum;
  }

  /** `/metrics` for all serving processes together. */
  render(extra = ''): string {
    const sum = new ProxyMetrics();
    sum.absorb(this.#ended.totals());
    for (const totals of this.#live.values()) sum.absorb(totals);
    return sum.render(extra);
  }
}
