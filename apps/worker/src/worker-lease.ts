import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaseStore } from '@pier/db';

/** Names this worker process in a lease: host, pid and a random tail (two workers on one host differ). */
export function workerHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * One named lease (`leases` table) as a worker's loop holds it: the loop runs
 * each pass only after `hold()` took or renewed it, so one worker of several
 * acts at a time, and another takes over `ttlMs` after a holder died.
 */
export class WorkerLease {
  readonly holder: string;

  constructor(
    private readonly leases: Pick<LeaseStore, 'acquire' | 'release'>,
    readonly name: string,
    private readonly ttlMs: number,
    holder?: string,
  ) {
    this.holder = holder ?? workerHolder();
  }

  /** Takes or renews the lease: true while this worker holds it. */
  hold(): Promise<boolean> {
    return this.leases.acquire(this.name, this.holder, this.ttlMs);
  }

  /** Gives it up at once (a clean stop); never throws. */
  async release(): Promise<void> {
    await this.leases.release(this.name, this.holder).catch(() => {});
  }
}
