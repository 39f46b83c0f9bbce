import { afterFailure, PassLoop, type RetryPolicy, type Subscribe } from '@pier/core';
import type { ClaimedDelivery, NotificationQueue } from '@pier/db';
import type { Logger } from '@pier/log';
import { type SendContext, scrubChannelSecrets, sendToChannel } from './channel-senders.ts';

export interface NotifierOptions {
  queue: NotificationQueue;
  logger: Logger;
  /** NOTIFY `pier_events` (`listenTo(sql, EVENTS_CHANNEL)`): a new event or test message is sent at once. */
  wakeOn?: Subscribe;
  /** A pass besides the wake-ups: retries that came due, summaries of windows that ended (default 3 s). */
  pollIntervalMs?: number;
  /** PIER_NOTIFY_THROTTLE_SECONDS in ms: one message per app, environment and kind in this window, then a summary. */
  throttleWindowMs: number;
  /** Backoff of failed deliveries and the age at which one is dead (PIER_NOTIFY_GIVE_UP_SECONDS). */
  retry: RetryPolicy;
  /** Loopback ports of Pier's own services, never a channel's target. */
  reservedPorts: readonly number[];
  /** Each send's overall limit, connect to the receiver's acceptance (default 10 s). */
  sendTimeoutMs?: number;
  /** Deliveries sent at once, each channel's one at a time (default 4). */
  concurrency?: number;
  /** Certificates trusted besides the system's (tests' HTTPS and SMTP receivers). */
  extraCa?: readonly string[];
  /** Ended deliveries (sent, held back, dead) are deleted once this old (default 14 days). */
  keepDeliveriesMs?: number;
}

/** How many events one transaction fans out. */
const FAN_OUT_BATCH = 100;
/** How often old deliveries are deleted. */
const PRUNE_EVERY_MS = 10 * 60_000;
const KEEP_DELIVERIES_MS = 14 * 86_400_000;

/**
 * The notifier: on each pass it fans out new events into deliveries (one per
 * channel that hears them, throttled), records the summaries of throttle
 * windows that ended, and sends the deliveries that are due, each claimed
 * with a lease so several workers share them. A failed send is retried with
 * backoff and jitter, and is dead once older than the give-up age; its last
 * error is kept with the channel's secrets scrubbed. Ended deliveries are
 * deleted after two weeks. Every worker runs one.
 */
export class Notifier {
  readonly #loop: PassLoop;
  readonly #send: SendContext;
  #prunedAt = 0;

  constructor(private readonly options: NotifierOptions) {
    this.#send = {
      reservedPorts: options.reservedPorts,
      timeoutMs: options.sendTimeoutMs ?? 10_000,
      extraCa: options.extraCa,
    };
    this.#loop = new PassLoop({
      name: 'notifier',
      intervalMs: options.pollIntervalMs ?? 3000,
      logger: options.logger,
      wakeOn: options.wakeOn,
      wakeDelayMs: 50,
      pass: (signal) => this.pass(signal),
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  kick(): void {
    this.#loop.kick();
  }

  /** Fan out, sum up, send what is due. */
  async pass(signal: AbortSignal): Promise<void> {
    const { queue, throttleWindowMs } = this.options;
    while (!signal.aborted && (await queue.fanOut(FAN_OUT_BATCH, throttleWindowMs)) === FAN_OUT_BATCH) {
      // A full batch: there may be more.
    }
    await queue.summarise(throttleWindowMs);
    if (Date.now() - this.#prunedAt >= PRUNE_EVERY_MS) {
      this.#prunedAt = Date.now();
      await queue.prune(this.options.keepDeliveriesMs ?? KEEP_DELIVERIES_MS);
    }
    await this.#sendDue(signal);
  }

  /**
   * Sends what is due, up to `concurrency` deliveries at once, each channel's
   * one at a time and in order (the claim takes at most one per channel, and
   * none of a channel whose delivery is being sent), with no barrier across
   * channels: as soon as one send ends another is claimed, so a slow channel
   * never holds another back. Each send has its own overall limit, and stops
   * at once when the notifier does (the delivery's lease then runs out and it
   * is sent again).
   */
  async #sendDue(signal: AbortSignal): Promise<void> {
    const { queue, logger } = this.options;
    const concurrency = this.options.concurrency ?? 4;
    // The lease outlasts one send that takes its whole limit, so no other worker sends it meanwhile.
    const leaseMs = this.#send.timeoutMs * 2 + 5000;
    const sending = new Set<Promise<void>>();
    try {
      while (!signal.aborted) {
        const claimed = sending.size < concurrency ? await queue.claim(concurrency - sending.size, leaseMs) : [];
        for (const claim of claimed) {
          const send: Promise<void> = this.#deliver(claim, signal)
            .catch((err: unknown) => logger.warn({ err, deliveryId: claim.delivery.id }, 'notification delivery failed'))
            .finally(() => sending.delete(send));
          sending.add(send);
        }
        if (sending.size === 0) return;
        await Promise.race(sending);
      }
    } finally {
      await Promise.all(sending);
    }
  }

  async #deliver({ delivery, channel }: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    const { queue, logger } = this.options;
    const log = { deliveryId: delivery.id, channel: channel.name, kind: delivery.payload.kind };
    try {
      await sendToChannel(channel.settings, delivery.id, delivery.payload, { ...this.#send, signal });
      await queue.sent(delivery.id, delivery.attempts);
      logger.debug(log, 'notification sent');
    } catch (err) {
      // Stopped mid-send: the lease runs out and the delivery is sent again, this attempt not held against it.
      if (signal.aborted) return;
      const error = scrubChannelSecrets((err as Error).message || String(err), channel.settings);
      const next = afterFailure(delivery, new Date(), this.options.retry);
      if (next.state === 'dead') {
        await queue.dead(delivery.id, delivery.attempts, error);
        logger.warn({ ...log, attempts: delivery.attempts, error }, 'notification given up');
      } else {
        await queue.retry(delivery.id, delivery.attempts, next.nextAttemptAt, error);
        logger.info({ ...log, attempts: delivery.attempts, error, retryAt: next.nextAttemptAt }, 'notification failed; retrying');
      }
    }
  }
}
