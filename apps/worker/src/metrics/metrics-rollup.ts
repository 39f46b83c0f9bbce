import { COARSE_RETENTION_DAYS, FINE_RETENTION_DAYS } from '@pier/core';
import type { Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { LeasedLoop } from '../worker-lease.ts';

const LEASE = 'metrics-rollup';
const DAY_MS = 86_400_000;

export interface MetricsRollupOptions {
  stores: Pick<Stores, 'metrics' | 'leases'>;
  logger: Logger;
  /** How often minutes past the week are rolled up into hours. Default 10 minutes. */
  intervalMs?: number;
  holder?: string;
  now?: () => Date;
}

/**
 * Keeps metrics small: every 10 minutes, in one worker at a time (the
 * `metrics-rollup` lease), minute buckets older than 7 days are merged into
 * hour buckets (MetricStore.rollUp: one statement per hour and table), and
 * hour buckets older than 90 days are folded into one archive row per series (the Prometheus totals keep counting them).
 */
export class MetricsRollup {
  readonly #loop: LeasedLoop;

  constructor(private readonly options: MetricsRollupOptions) {
    const intervalMs = options.intervalMs ?? 10 * 60_000;
    this.#loop = new LeasedLoop(
      {
        name: LEASE,
        leases: options.stores.leases,
        intervalMs,
        holder: options.holder,
        logger: options.logger,
      },
      () => this.pass(),
    );
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  async pass(): Promise<void> {
    const { stores, logger } = this.options;
    if (!(await this.#loop.hold())) return;
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const result = await stores.metrics.rollUp({
      fineBefore: new Date(now - FINE_RETENTION_DAYS * DAY_MS),
      coarseBefore: new Date(now - COARSE_RETENTION_DAYS * DAY_MS),
    });
    if (result.hours > 0 || result.expired > 0) logger.info(result, 'metrics rolled up into hours and expired');
  }
}
