/** The logging a loop needs; a pino logger fits it, so core does not depend on pino. */
export interface LoopLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Change notifications (a Postgres LISTEN, an in-memory source): calls
 * `onChange` after each change (possibly spuriously, possibly several times
 * for one), and `onError` when the subscription cannot be made, after which
 * only polling finds changes. Returns the unsubscribe function.
 * `RouteSource.subscribe` is one; `listenTo(sql, channel)` in @pier/db makes one.
 */
export type Subscribe = (onChange: () => void, onError?: (err: unknown) => void) => () => void;

export interface PassLoopOptions {
  /** Names the loop in its log lines: `<name> pass failed`. */
  name: string;
  /**
   * One pass. A throw is logged (`{ err }`, with its stack) and the loop goes
   * on. `signal` aborts when the loop is stopped: a pass that works through a
   * queue checks it between items.
   */
  pass: (signal: AbortSignal) => Promise<unknown>;
  /** A pass runs at start and then every `intervalMs`, besides the kicks. */
  intervalMs: number;
  logger: Pick<LoopLogger, 'warn'>;
  /** Notifications that call for a pass soon: a LISTEN wakes the loop instead of it waiting for the interval. */
  wakeOn?: Subscribe;
  /** Notifications within this window make one pass (a burst of NOTIFYs in one transaction). Default 0: at once. */
  wakeDelayMs?: number;
}

/**
 * A loop that runs a pass on start, every `intervalMs`, and soon after each
 * `kick()` or notification. Passes never overlap: a kick during a pass makes
 * one more pass right after it, however many kicks came. `stop()` stops the
 * timers, aborts the pass's signal and waits for it to end; `start()` may
 * follow again.
 *
 * A loop class is then a few lines of what it does:
 *
 *     this.#loop = new PassLoop({
 *       name: 'reconcile', intervalMs: 5000, logger,
 *       pass: (signal) => this.reconcile(signal),
 *     });
 *     start() { this.#loop.start(); }
 *     stop() { return this.#loop.stop(); }
 *     kick() { this.#loop.kick(); }
 */
export class PassLoop {
  readonly #options: PassLoopOptions;
  #interval: ReturnType<typeof setInterval> | undefined;
  #wake: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #again = false;
  #started = false;

  constructor(options: PassLoopOptions) {
    this.#options = options;
  }

  /** Runs the first pass now and keeps running passes until `stop()`. Starting a started loop does nothing. */
  start(): void {
    if (this.#started) return;
    const { name, intervalMs, wakeOn, logger } = this.#options;
    this.#started = true;
    this.#abort = new AbortController();
    this.#interval = setInterval(() => this.kick(), intervalMs);
    this.#unsubscribe = wakeOn?.(
      () => this.#soon(),
      (err) => logger.warn({ err }, `${name} cannot subscribe to changes; polling only`),
    );
    this.kick();
  }

  /** Stops the timers and the notifications, aborts the running pass's signal and waits for the pass to end. */
  async stop(): Promise<void> {
    this.#started = false;
    clearInterval(this.#interval);
    clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#abort.abort();
    await this.#running;
  }

  /** A pass now, or right after the one running; ignored while stopped. */
  kick(): void {
    if (!this.#started) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#passes().finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves once no pass runs and none is due after it. */
  async idle(): Promise<void> {
    await this.#running;
  }

  #soon(): void {
    const delay = this.#options.wakeDelayMs ?? 0;
    if (delay <= 0) {
      this.kick();
      return;
    }
    if (this.#wake || !this.#started) return;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.kick();
    }, delay);
  }

  async #passes(): Promise<void> {
    // A kick from inside a pass, or before this promise is stored, finds `#running` set: one turn first.
    await Promise.resolve();
    const signal = this.#abort.signal;
    do {
      this.#again = false;
      try {
        await this.#options.pass(signal);
      } catch (err) {
        this.#options.logger.warn({ err }, `${this.#options.name} pass failed`);
      }
    } while (this.#again && this.#started);
  }
}
