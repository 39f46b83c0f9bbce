import { DEFAULT_HOST_ALERT_THRESHOLDS, decideHostAlerts, type HostAlertThresholds, type HostSample } from '@pier/core';
import type { Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { LeasedLoop } from '../worker-lease.ts';

const LEASE = 'host-alerts';

export interface HostAlertWatchOptions {
  stores: Pick<Stores, 'alertStates' | 'events' | 'leases'>;
  /** Reads the host: memory and the disks of `/` and Docker's data root (`readHostSample`). */
  sample: () => Promise<HostSample>;
  thresholds?: HostAlertThresholds;
  logger: Logger;
  /** How often the host is read. Default a minute. */
  intervalMs?: number;
  /** Names this worker in the lease; default host, pid and a random tail. */
  holder?: string;
  now?: () => Date;
}

/**
 * The host's disks and memory against their thresholds, every minute, in one
 * worker at a time (the `host-alerts` lease): `host.disk` or `host.memory`
 * when a condition starts, `host.recovered` when it clears, none while it
 * stays (core's `decideHostAlerts` decides; `alert_states` remembers what
 * fires).
 */
export class HostAlertWatch {
  readonly #loop: LeasedLoop;

  constructor(private readonly options: HostAlertWatchOptions) {
    const intervalMs = options.intervalMs ?? 60_000;
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

  /** One look at the host: the events it recorded (none unless this worker holds the lease). */
  async pass(): Promise<number> {
    const { stores, logger } = this.options;
    if (!(await this.#loop.hold())) return 0;
    const now = (this.options.now ?? (() => new Date()))();
    const [sample, previous] = await Promise.all([this.options.sample(), stores.alertStates.read('host.')]);
    const decision = decideHostAlerts(sample, previous, this.options.thresholds ?? DEFAULT_HOST_ALERT_THRESHOLDS, now);
    // The events first, the state once they are in the log: a recording that fails throws and the next pass
    // decides again; an event recorded before is not recorded twice (its dedupe key is the previous state's start).
    for (const event of decision.events) {
      logger.warn({ kind: event.kind, data: event.data }, event.message);
      await stores.events.recordOrThrow(event);
    }
    await stores.alertStates.write(decision.states);
    return decision.events.length;
  }
}
