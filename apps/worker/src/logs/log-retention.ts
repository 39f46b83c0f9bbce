import type { LeaseStore, LogStore, RetentionResult } from '@pier/db';
import type { Logger } from '@pier/log';
import { LeasedLoop } from '../worker-lease.ts';

const LEASE = 'log-retention';

export interface LogRetentionOptions {
  logs: Pick<LogStore, 'retain' | 'pruneCursors'>;
  leases: Pick<LeaseStore, 'acquire' | 'release'>;
  /** PIER_LOG_RETENTION_DAYS: lines older than this go (an environment's own setting wins). */
  maxAgeDays: number;
  /** PIER_LOG_RETENTION_MB: above this, an environment's oldest lines go (its own setting wins). */
  maxMb: number;
  logger: Logger;
  /** Default 5 minutes: how far past its cap an environment can grow is what its apps write in that time. */
  intervalMs?: number;
  /** Names this worker in the lease; default host, pid and a random tail. */
  holder?: string;
}

/**
 * Keeps the log store within its bounds, on start and every few minutes:
 * lines past each environment's age limit go, then each environment's oldest
 * lines above its size cap, then the cursors of containers finished long ago.
 * One worker of several sweeps at a time (the `log-retention` lease): two
 * sweeping at once would each delete an environment's excess by size.
 */
export class LogRetention {
  readonly #loop: LeasedLoop;

  constructor(private readonly options: LogRetentionOptions) {
    const intervalMs = options.intervalMs ?? 5 * 60_000;
    this.#loop = new LeasedLoop(
      {
        name: LEASE,
        leases: options.leases,
        intervalMs,
        holder: options.holder,
        logger: options.logger,
      },
      () => this.sweep(),
    );
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** One sweep, or nothing (zero deleted) while another worker holds the lease. */
  async sweep(): Promise<RetentionResult> {
    const { logs, maxAgeDays, maxMb, logger } = this.options;
    if (!(await this.#loop.hold())) return { byAge: 0, bySize: 0 };
    const result = await logs.retain({ maxAgeDays, maxBytes: maxMb * 1024 * 1024 });
    await logs.pruneCursors(maxAgeDays);
    if (result.byAge + result.bySize > 0) logger.info(result, 'deleted old log lines');
    return result;
  }
}
