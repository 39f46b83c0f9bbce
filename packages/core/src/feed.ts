import type { LoopLogger, Subscribe } from './pass-loop.ts';

/** The truth a feed follows (Postgres in production): a full load, and notifications of change. */
export interface FeedSource<T> {
  /** The whole value as it is now (never a delta); rejects when it cannot be read. */
  load(): Promise<T>;
  subscribe: Subscribe;
}

/** The last value loaded from the source, on disk, for a start while the source is down. */
export interface FeedSnapshot<T> {
  /** Where it lives, for log lines. */
  readonly path: string;
  /** Rejects when there is no usable snapshot. */
  load(): Promise<T>;
  save(value: T): Promise<void>;
}

/** Where the value being served came from. */
export type FeedOrigin = 'source' | 'snapshot' | 'none';

export interface FeedStatus {
  origin: FeedOrigin;
  loadedAt?: Date;
  /** The last failure to load (the source, else the snapshot), until the next load succeeds. */
  lastError?: string;
}

export interface FeedOptions<T> {
  /** What is fed, in log lines: `routes`, `certificates`. */
  name: string;
  /** The truth. Absent: the snapshot is the only source (read again at each reload). */
  source?: FeedSource<T>;
  /** Saved after each load from the source that changed the value; served when the first load fails. */
  snapshot?: FeedSnapshot<T>;
  /** Receives each value that differs (by `key`) from the one served before. */
  apply: (value: T, origin: 'source' | 'snapshot') => void;
  /** Values with equal keys are equal: not applied or saved again. Default: `JSON.stringify`. */
  key?: (value: T) => string;
  /** Context for the line that says the snapshot is served (e.g. `{ routes: 3 }`). */
  describe?: (value: T) => object;
  logger: LoopLogger;
  /** Change notifications arriving within this window cause one reload. Default 200 ms. */
  debounceMs?: number;
  /** Full reload even without notifications, in case one was lost. Default 1 minute. */
  fullReloadMs?: number;
  /** After a failed load, try again this soon rather than at the next full reload. Default 5 s. */
  retryMs?: number;
}

/**
 * Keeps a value loaded from a source current: loads it at start, again
 * (debounced) whenever the source signals a change, and in full every
 * `fullReloadMs`. Each value loaded from the source is saved as the snapshot;
 * when the source fails at start, the snapshot is served so that the process
 * works while the source (Postgres) is down. A failing reload keeps what is
 * being served. The proxy's route feed and certificate feed are two of these.
 */
export class Feed<T> {
  readonly #options: FeedOptions<T>;
  #status: FeedStatus = { origin: 'none' };
  #appliedKey: string | undefined;
  #savedKey: string | undefined;
  #unsubscribe: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerKind: 'change' | 'periodic' | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(options: FeedOptions<T>) {
    this.#options = options;
  }

  get status(): FeedStatus {
    return { ...this.#status };
  }

  /** Loads the first value (from the source, else the snapshot, else none) and starts following changes. */
  async start(): Promise<FeedStatus> {
    const { source, snapshot, debounceMs, name, logger } = this.#options;
    this.#stopped = false;
    this.#unsubscribe = source?.subscribe(
      () => this.#schedule('change', debounceMs ?? 200),
      (err) => logger.warn({ err }, `${name}: cannot subscribe to changes; reloading in full periodically`),
    );
    await this.reload();
    if (this.#status.origin === 'none' && source && snapshot) await this.#loadSnapshot(snapshot);
    return this.status;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerKind = undefined;
    await this.#running;
  }

  /** Loads now; concurrent calls share one load plus at most one more. */
  reload(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loadLoop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #loadLoop(): Promise<void> {
    const { fullReloadMs, retryMs } = this.#options;
    do {
      this.#again = false;
      const ok = await this.#loadOnce();
      if (this.#timerKind !== 'change') this.#schedule('periodic', ok ? (fullReloadMs ?? 60_000) : (retryMs ?? 5_000));
    } while (this.#again && !this.#stopped);
  }

  async #loadOnce(): Promise<boolean> {
    const { source, snapshot, name } = this.#options;
    if (!source) return snapshot ? this.#loadSnapshot(snapshot) : true;
    let value: T;
    try {
      value = await source.load();
    } catch (err) {
      this.#failed(err, `cannot load ${name}; keeping those being served`);
      return false;
    }
    if (this.#stopped) return true;
    const key = this.#use(value, 'source');
    if (snapshot && key !== this.#savedKey) await this.#save(snapshot, value, key);
    return true;
  }

  async #loadSnapshot(snapshot: FeedSnapshot<T>): Promise<boolean> {
    const { name, logger, describe } = this.#options;
    try {
      const value = await snapshot.load();
      if (this.#status.origin === 'source') return true;
      const before = this.#appliedKey;
      if (this.#use(value, 'snapshot') !== before) {
        logger.info({ path: snapshot.path, ...describe?.(value) }, `serving ${name} from the snapshot`);
      }
      return true;
    } catch (err) {
      this.#failed(err, `no usable snapshot of ${name}`);
      return false;
    }
  }

  /** Serves `value` (applied only when it differs from what is served); returns its key. */
  #use(value: T, origin: 'source' | 'snapshot'): string {
    const key = (this.#options.key ?? JSON.stringify)(value);
    if (key !== this.#appliedKey) this.#options.apply(value, origin);
    this.#appliedKey = key;
    this.#status = { origin, loadedAt: new Date() };
    return key;
  }

  async #save(snapshot: FeedSnapshot<T>, value: T, key: string): Promise<void> {
    try {
      await snapshot.save(value);
      this.#savedKey = key;
    } catch (err) {
      this.#options.logger.warn({ err, path: snapshot.path }, `cannot save the snapshot of ${this.#options.name}`);
    }
  }

  /** Logs a failure when it differs from the previous one (a source down for an hour logs once, not every retry). */
  #failed(err: unknown, message: string): void {
    const text = err instanceof Error ? err.message : String(err);
    const context = { err, serving: this.#status.origin, path: this.#options.snapshot?.path };
    if (text !== this.#status.lastError) this.#options.logger.warn(context, message);
    else this.#options.logger.debug(context, message);
    this.#status.lastError = text;
  }

  /**
   * Arms the one timer. A change notification arms it for the debounce delay
   * unless a reload is already due sooner; after each load the periodic
   * reload is armed, unless a change arrived meanwhile and is still pending.
   */
  #schedule(kind: 'change' | 'periodic', ms: number): void {
    if (this.#stopped || (kind === 'change' && this.#timerKind === 'change')) return;
    clearTimeout(this.#timer);
    this.#timerKind = kind;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerKind = undefined;
      void this.reload();
    }, ms);
    this.#timer.unref?.();
  }
}
