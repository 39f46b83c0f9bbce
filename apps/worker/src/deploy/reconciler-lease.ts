import type { LeaseStore } from '@pier/db';
import type { Logger } from '@pier/log';

const LEASE = 'reconciler';
export const DEFAULT_LEASE_MS = 15_000;

export interface ReconcilerLeaseOptions {
  leases: Pick<LeaseStore, 'acquire' | 'release'>;
  /** Names this worker in the lease. */
  holder: string;
  ttlMs?: number;
  logger: Logger;
  /** Called when the lease is lost: what this worker had under way is another's now. */
  onLost: () => void;
}

/**
 * The lease that makes one reconciler of several the one that acts. `renew`
 * takes or renews it (every pass does); `start` also renews it on its own
 * beat, a third of its length, so that a pass slowed by a loaded machine does
 * not lose it; `release` gives it up on a clean stop, also when a renewal is
 * still on its way.
 */
export class ReconcilerLease {
  #leading = false;
  #released = false;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconcilerLeaseOptions) {}

  get holder(): string {
    return this.options.holder;
  }

  get ttlMs(): number {
    return this.options.ttlMs ?? DEFAULT_LEASE_MS;
  }

  /** Whether the last renewal held it. */
  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#released = false;
    this.#heartbeat = setInterval(() => {
      if (this.#leading) void this.renew();
    }, this.ttlMs / 3);
  }

  /** Takes or renews the lease; true while this worker holds it. */
  async renew(): Promise<boolean> {
    const { leases, holder, logger } = this.options;
    let leading = false;
    try {
      leading = !this.#released && (await leases.acquire(LEASE, holder, this.ttlMs));
      if (leading && this.#released) {
        // release() gave the lease up while this renewal was on its way: give it up again.
        await leases.release(LEASE, holder);
        leading = false;
      }
    } catch (err) {
      logger.warn({ err }, 'could not renew the reconciler lease');
    }
    if (leading && !this.#leading) logger.info({ holder }, 'reconciler lease taken: this worker runs the replicas');
    if (!leading && this.#leading) {
      logger.warn({ holder }, 'reconciler lease lost: another worker runs the replicas');
      this.options.onLost();
    }
    this.#leading = leading;
    return leading;
  }

  /** Stops renewing and gives the lease up, so another worker takes it at once. */
  async release(): Promise<void> {
    this.#released = true;
    clearInterval(this.#heartbeat);
    if (!this.#leading) return;
    this.#leading = false;
    await this.options.leases.release(LEASE, this.options.holder).catch(() => {});
  }
}
