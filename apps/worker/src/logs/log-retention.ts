import { PassLoop } from '@pier/core';
import type { LogStore, RetentionResult } from '@pier/db';
import type { Logger } from '@pier/log';

export interface LogRetentionOptions {
  logs: Pick<LogStore, 'retain' | 'pruneCursors'>;
  /** PIER_LOG_RETENTION_DAYS: lines older than this go (an environment's own setting wins). */
  maxAgeDays: number;
  /** PIER_LOG_RETENTION_MB: above this, an environment's oldest lines go (its own setting wins). */
  maxMb: number;
  logger: Logger;
  /** Default 5 minutes: how far past its cap an environment can grow is what its apps write in that time. */
  intervalMs?: number;
}

/**
 * Keeps the log store within its bounds, on start and every few minutes:
 * lines past each environment's age limit go, then each environment's oldest
 * lines above its size cap, then the cursors of containers finished long ago.
 * Several workers doing it at once delete each line once.
 */
export class LogRetention {
  readonly #loop: PassLoop;

  constructor(private readonly options: LogRetentionOptions) {
    this.#loop = new PassLoop({
      name: 'log retention',
      intervalMs: options.intervalMs ?? 5 * 60_000,
      logger: options.logger,
      pass: () => this.sweep(),
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async sweep(): Promise<RetentionResult> {
    const { logs, maxAgeDays, maxMb, logger } = this.options;
    const result = await logs.retain({ maxAgeDays, maxBytes: maxMb * 1024 * 1024 });
    await logs.pruneCursors(maxAgeDays);
    if (result.byAge + result.bySize > 0) logger.info(result, 'deleted old log lines');
    return result;
  }
}
