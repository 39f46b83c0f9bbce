import { bucketStart, FINE_STEP, mergeRequestBuckets, PassLoop, type RequestBucket, type RequestMetricsSink } from '@pier/core';
import type { ProxyMetrics } from './metrics.ts';
import { type ProxyLogger, silentLogger } from './proxy-logger.ts';

export interface MetricsFlusherOptions {
  /** What was counted: this process's metrics, or what the serving processes reported. */
  metrics: Pick<ProxyMetrics, 'takeBuckets'>;
  sink: RequestMetricsSink;
  /** How often what was counted is added to the sink (PIER_PROXY_METRICS_FLUSH_MS). */
  intervalMs: number;
  log?: ProxyLogger;
  /** Buckets kept while the sink fails; beyond it the oldest minutes are dropped. Default 10,000 (a few MB). */
  maxPending?: number;
  now?: () => Date;
}

const DEFAULT_MAX_PENDING = 10_000;

/**
 * Every `intervalMs`, adds what the proxy counted since the last flush to
 * the sink (request_metrics), as one-minute buckets at the minute of the
 * flush. A flush that fails keeps its buckets and merges them with the next
 * one's, up to `maxPending` buckets (the newest kept), so a Postgres outage
 * loses nothing short and costs bounded memory. `stop()` flushes once more.
 */
export class MetricsFlusher {
  readonly #options: MetricsFlusherOptions;
  readonly #loop: PassLoop;
  #pending: RequestBucket[] = [];
  #dropped = 0;

  constructor(options: MetricsFlusherOptions) {
    this.#options = options;
    this.#loop = new PassLoop({
      name: 'request metrics flush',
      intervalMs: options.intervalMs,
      logger: options.log ?? silentLogger,
      pass: () =>
        this.flush().catch((err: unknown) => {
          (options.log ?? silentLogger).warn(
            { err, pending: this.#pending.length, dropped: this.#dropped },
            'could not store request metrics; kept for the next flush',
          );
        }),
    });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.flush().catch(() => {}); // counted during the last interval: one more try, already logged
  }

  /** Buckets waiting for a sink that failed. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Buckets dropped because the sink failed for longer than `maxPending` allows. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Adds what was counted (and what a failed flush kept) to the sink. */
  async flush(): Promise<void> {
    const { metrics, sink } = this.#options;
    const at = bucketStart(this.#options.now?.() ?? new Date(), FINE_STEP);
    const fresh = metrics.takeBuckets(at);
    const buckets = this.#pending.length > 0 ? mergeRequestBuckets([...this.#pending, ...fresh], FINE_STEP) : fresh;
    this.#pending = [];
    if (buckets.length === 0) return;
    try {
      await sink.add(buckets, FINE_STEP);
    } catch (err) {
      const max = this.#options.maxPending ?? DEFAULT_MAX_PENDING;
      // Sorted by time: past the bound, the oldest minutes go.
      const overflow = Math.max(0, buckets.length - max);
      this.#dropped += overflow;
      this.#pending = buckets.slice(overflow);
      throw err;
    }
  }
}
