import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { COARSE_RETENTION_DAYS, FINE_RETENTION_DAYS, PassLoop } from '@pier/core';
import type { Stores } from '@pier/db';
import type { Logger } from '@pier/log';

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
  readonly #loop: PassLoop;
  readonly #holder: string;
  readonly #intervalMs: number;

  constructor(private readonly options: MetricsRollupOptions) {
    this.#intervalMs = options.intervalMs ?? 10 * 60_000;
    this.#holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#loop = new PassLoop({ name: LEASE, intervalMs: this.#intervalMs, logger: options.logger, pass: () => this.pass() });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.options.stores.leases.release(LEASE, this.#holder).catch(() => {});
  }

  async pass(): Promise<void> {
    const { stores, logger } = this.options;
    if (!(await stores.leases.acquire(LEASE, this.#holder, Math.max(2 * this.#intervalMs, 60_000)))) return;
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const result = await stores.metrics.rollUp({
      fineBefore: new Date(now - FINE_RETENTION_DAYS * DAY_MS),
      coarseBefore: new Date(now - COARSE_RETENTION_DAYS * DAY_MS),
    });
    if (result.hours > 0 || result.expired > 0) logger.info(result, 'metrics rolled up into hours and expired');
  }
}
