import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PassLoop } from '@pier/core';
import type { LeaseStore } from '@pier/db';
import type { Logger } from '@pier/log';

/** Names this worker process in a lease: host, pid and a random tail (two workers on one host differ). */
export function workerHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface LeasedLoopOptions {
  /** The lease's name (`leases` table), and the loop's in logs. */
  name: string;
  leases: Pick<LeaseStore, 'acquire' | 'release'>;
  intervalMs: number;
  /**
   * How long the lease lasts without a renewal: another worker takes over that long after a holder died.
   * Default two passes, at least a minute.
   */
  ttlMs?: number;
  /** Names this worker in the lease; default `workerHolder()`. */
  holder?: string;
  logger: Logger;
}

/**
 * A worker's pass loop that acts in one worker of several at a time: every
 * `intervalMs` it runs `pass`, which begins with `hold()` (take or renew the
 * named lease; false while another worker holds it). `stop()` ends the loop
 * and gives the lease up, so the next worker takes over at once.
 */
export class LeasedLoop {
  readonly holder: string;
  readonly #loop: PassLoop;

  constructor(
    private readonly options: LeasedLoopOptions,
    pass: () => Promise<unknown>,
  ) {
    this.holder = options.holder ?? workerHolder();
    this.#loop = new PassLoop({
      name: options.name,
      intervalMs: options.intervalMs,
      logger: options.logger,
      pass: async () => {
        await pass();
      },
    });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.options.leases.release(this.options.name, this.holder).catch(() => {});
  }

  /** Takes or renews the lease: true while this worker holds it. */
  hold(): Promise<boolean> {
    return this.options.leases.acquire(
      this.options.name,
      this.holder,
      this.options.ttlMs ?? Math.max(2 * this.options.intervalMs, 60_000),
    );
  }
}
