import { PassLoop } from '@pier/core';
import type { LogDrainRow, Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { workerHolder } from '../worker-lease.ts';
import { batchOf } from './drain-messages.ts';
import type { DrainSender } from './drain-sender.ts';
import { senderFor } from './sender-for.ts';

const LEASE = 'log-drains';
/** How long one drain is forwarded at a time before the next pass takes it up again. */
const FORWARD_BUDGET_MS = 5000;

export interface DrainForwarderOptions {
  stores: Pick<Stores, 'logDrains' | 'leases' | 'events'>;
  logger: Logger;
  /** Pier's own loopback ports, never a drain's target. */
  reservedPorts: readonly number[];
  /** How often the drains are looked at. Default 1 s. */
  intervalMs?: number;
  /** Lines read per batch, and the bytes a batch holds at most. Default 500 lines, 256 KiB. */
  batchLines?: number;
  batchBytes?: number;
  /** A drain further behind than this many lines skips ahead to its newest this many, counting the rest dropped. Default 100 000. */
  bufferLines?: number;
  /** The longest wait between two attempts of a failing drain (the waits double from 1 s). Default 30 s. */
  maxBackoffMs?: number;
  /** How long a connection or a batch may take. Default 10 s. */
  timeoutMs?: number;
  /** Names this worker in the lease; default host, pid and a random tail. */
  holder?: string;
}

/** What the forwarder keeps of one drain between passes. */
interface DrainState {
  /** The sealed config the sender was made from: a changed drain gets a new sender. */
  ciphertext: string;
  sender: DrainSender | null;
  failures: number;
  retryAt: number;
  /** Look whether it fell behind past its buffer (after a failure, at start, after a full pass). */
  checkBehind: boolean;
  /** Its forwarding under way: a pass skips a drain still busy, so no drain waits for another. */
  inFlight: Promise<void> | null;
}

/** The wait after the `failures`-th failure in a row: 1 s, 2 s, 4 s … up to `maxMs`. */
export function drainBackoffMs(failures: number, maxMs: number): number {
  return Math.min(maxMs, 1000 * 2 ** Math.max(0, Math.min(failures - 1, 20)));
}

/**
 * Forwards each drain's lines from the log store to its endpoint. One
 * worker of several forwards at a time (the `log-drains` lease); each pass
 * starts every drain not still busy, each on its own (a slow endpoint holds
 * only its own drain) for a few seconds at most, reading its
 * pending lines in batches (`batchLines`, `batchBytes`), sending one and
 * moving the drain's cursor only once the endpoint took it, so a drain
 * resumes after an outage where it stopped, in order (at least once: a
 * batch whose answer was lost is sent again).
 *
 * A failing drain is retried with a doubling wait (up to `maxBackoffMs`), is
 * marked failing with its scrubbed error, and records one `drain.failing`
 * event when it starts failing. Its buffer is the store itself: the
 * collector never waits on a drain, and a drain more than `bufferLines`
 * behind skips ahead, counting what it skipped as dropped.
 */
export class DrainForwarder {
  readonly #loop: PassLoop;
  readonly #holder: string;
  readonly #intervalMs: number;
  readonly #states = new Map<string, DrainState>();

  constructor(private readonly options: DrainForwarderOptions) {
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#holder = options.holder ?? workerHolder();
    this.#loop = new PassLoop({
      name: 'log drains',
      intervalMs: this.#intervalMs,
      logger: options.logger,
      pass: (signal) => this.pass(signal),
    });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    const states = [...this.#states.values()];
    this.#states.clear();
    // Closing a sender fails the batch it is sending, so no drain holds the shutdown.
    for (const state of states) state.sender?.close();
    await Promise.all(states.map((state) => state.inFlight));
    await this.options.stores.leases.release(LEASE, this.#holder).catch(() => {});
  }

  /** Runs a pass now, or right after the one running. */
  kick(): void {
    this.#loop.kick();
  }

  /**
   * One pass: nothing unless this worker holds the lease; else starts
   * forwarding every drain not still busy from an earlier pass, each on its
   * own, and resolves once they are started (`settled` waits for them).
   */
  async pass(signal?: AbortSignal): Promise<void> {
    const { stores } = this.options;
    // Longer than a pass can take (a drain's work is bounded by its time budget and the timeout).
    const leaseMs = Math.max(3 * this.#intervalMs, 2 * (this.options.timeoutMs ?? 10_000) + 10_000);
    if (!(await stores.leases.acquire(LEASE, this.#holder, leaseMs))) {
      this.forgetAll();
      return;
    }
    const drains = await stores.logDrains.all();
    const ids = new Set(drains.map((d) => d.id));
    for (const [id, state] of this.#states) {
      if (!ids.has(id)) {
        state.sender?.close();
        this.#states.delete(id);
      }
    }
    for (const drain of drains) {
      const state = this.stateOf(drain);
      if (state.inFlight) continue;
      state.inFlight = this.forwardWithin(drain, state, signal).finally(() => {
        state.inFlight = null;
      });
    }
  }

  /** Resolves once every drain's forwarding under way has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.#states.values()].map((state) => state.inFlight));
  }

  /**
   * `forward` with a deadline: past its time budget plus twice the timeout,
   * its sender is closed, which fails the batch being sent.
   */
  private async forwardWithin(drain: LogDrainRow, state: DrainState, signal?: AbortSignal): Promise<void> {
    const deadline = setTimeout(() => state.sender?.close(), FORWARD_BUDGET_MS + 2 * (this.options.timeoutMs ?? 10_000));
    try {
      await this.forward(drain, state, signal);
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Sends the drain's pending lines for up to a few seconds; on a failure, marks it and waits before the next try. */
  private async forward(drain: LogDrainRow, state: DrainState, signal?: AbortSignal): Promise<void> {
    const { logDrains } = this.options.stores;
    if (Date.now() < state.retryAt) return;
    const batchLines = this.options.batchLines ?? 500;
    const until = Date.now() + FORWARD_BUDGET_MS;
    try {
      if (state.checkBehind) await this.skipAhead(drain);
      state.checkBehind = false;
      // Not once another worker took the lease (the drain's state is then forgotten here).
      while (Date.now() < until && !signal?.aborted && this.#states.get(drain.id) === state) {
        const pending = await logDrains.pending(drain.id, batchLines);
        if (pending.length === 0) return;
        const batch = batchOf(pending, this.options.batchBytes ?? 256 * 1024);
        state.sender ??= senderFor(logDrains.config(drain), {
          reservedPorts: this.options.reservedPorts,
          timeoutMs: this.options.timeoutMs ?? 10_000,
        });
        await state.sender.send(batch);
        await logDrains.advance(drain.id, (batch.at(-1) as { id: number }).id, batch.length);
        state.failures = 0;
      }
      // Still lines after its time: it may be falling behind for good.
      state.checkBehind = true;
    } catch (err) {
      // A drain changed, deleted or given up meanwhile (its sender closed on purpose) is not failing.
      if (this.#states.get(drain.id) !== state) return;
      await this.failed(drain, state, err as Error);
    }
  }

  private async skipAhead(drain: LogDrainRow): Promise<void> {
    const dropped = await this.options.stores.logDrains.skipAhead(drain.id, this.options.bufferLines ?? 100_000);
    if (dropped > 0) {
      this.options.logger.warn(
        { drain: drain.name, appId: drain.appId, dropped },
        'log drain fell behind its buffer; lines dropped',
      );
    }
  }

  private async failed(drain: LogDrainRow, state: DrainState, err: Error): Promise<void> {
    const { logDrains, events } = this.options.stores;
    state.sender?.close();
    state.sender = null;
    state.failures += 1;
    state.checkBehind = true;
    state.retryAt = Date.now() + drainBackoffMs(state.failures, this.options.maxBackoffMs ?? 30_000);
    const started = await logDrains.failing(drain, err.message).catch(() => false);
    this.options.logger.warn(
      { drain: drain.name, appId: drain.appId, target: drain.target, failures: state.failures },
      'log drain failing',
    );
    if (started) {
      await events.record({
        kind: 'drain.failing',
        appId: drain.appId,
        message: `log drain ${drain.name} (${drain.target}) is failing; its lines wait in the store (GET /apps/:app/drains shows the error)`,
        data: { drain: drain.name, target: drain.target },
      });
    }
  }

  private stateOf(drain: LogDrainRow): DrainState {
    const known = this.#states.get(drain.id);
    if (known && known.ciphertext === drain.configCiphertext) return known;
    known?.sender?.close();
    const state: DrainState = {
      ciphertext: drain.configCiphertext,
      sender: null,
      failures: 0,
      retryAt: 0,
      checkBehind: true,
      inFlight: null,
    };
    this.#states.set(drain.id, state);
    return state;
  }

  /** Another worker forwards now: connections kept here go. */
  private forgetAll(): void {
    for (const state of this.#states.values()) state.sender?.close();
    this.#states.clear();
  }
}
