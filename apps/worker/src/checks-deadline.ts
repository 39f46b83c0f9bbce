import { PassLoop } from '@pier/core';
import type { CommitCheckStore } from '@pier/db';
import type { Logger } from '@pier/log';

export interface ChecksDeadlineOptions {
  checks: Pick<CommitCheckStore, 'skipOverdue'>;
  logger: Logger;
  /** How often deadlines are looked at. Default 15 s: a deployment is skipped at most this long after its deadline. */
  intervalMs?: number;
  now?: () => Date;
}

/**
 * Ends the wait of deployments whose GitHub checks did not finish before
 * their deadline (`checks_deadline_at`, the environment's `checksTimeoutMs`
 * after the push): they become `skipped` with a reason that says so. Each is
 * moved by a compare-and-set on its state, so several workers never skip one
 * twice, and a check that settles it at the same moment wins or loses cleanly.
 */
export class ChecksDeadline {
  readonly #loop: PassLoop;

  constructor(private readonly options: ChecksDeadlineOptions) {
    this.#loop = new PassLoop({
      name: 'checks-deadline',
      intervalMs: options.intervalMs ?? 15_000,
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

  /** Runs a pass now, or right after the one running. */
  kick(): void {
    this.#loop.kick();
  }

  /** One pass; returns how many deployments were skipped. */
  async sweep(): Promise<number> {
    const skipped = await this.options.checks.skipOverdue((this.options.now ?? (() => new Date()))());
    if (skipped > 0) this.options.logger.info({ skipped }, 'deployments skipped: their checks did not finish in time');
    return skipped;
  }
}
