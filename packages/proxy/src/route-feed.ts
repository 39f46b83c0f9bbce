import type { Route, RouteSource } from '@pier/core';
import { type ProxyLogger, silentLogger } from './proxy-logger.ts';
import { readSnapshot, writeSnapshot } from './route-snapshot.ts';

export interface RouteFeedOptions {
  /** The truth (Postgres in production). Absent: the snapshot file is the only source. */
  source?: RouteSource;
  /** Last-known-good table on disk, loaded when the source fails at start. */
  snapshotPath: string;
  /** Receives every new table (swap it into the RouteTable, sync health checks…). */
  apply: (routes: Route[]) => void;
  /** Change notifications arriving within this window cause one reload. */
  debounceMs?: number;
  /** Full reload even without notifications, in case one was lost. */
  fullReloadMs?: number;
  /** After a failed load, try again this soon rather than at the next full reload. */
  retryMs?: number;
  log?: ProxyLogger;
}

/** Where the routes being served came from. */
export type RouteOrigin = 'source' | 'snapshot' | 'none';

export interface RouteFeedStatus {
  origin: RouteOrigin;
  routes: number;
  loadedAt?: Date;
  lastError?: string;
}

/**
 * Keeps the proxy's routes current: loads the full table at start, again
 * (debounced) whenever the source signals a change, and in full every
 * `fullReloadMs`. Each table loaded from the source is saved as the
 * snapshot; when the source fails at start, the snapshot is served so the
 * proxy works while Postgres is down. A failing reload keeps the current
 * table.
 */
export class RouteFeed {
  readonly #debounceMs: number;
  readonly #fullReloadMs: number;
  readonly #retryMs: number;
  readonly #log: ProxyLogger;
  #status: RouteFeedStatus = { origin: 'none', routes: 0 };
  #savedJson: string | undefined;
  #unsubscribe: (() => void) | undefined;
  #appliedJson: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerKind: 'change' | 'periodic' | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(private readonly options: RouteFeedOptions) {
    this.#debounceMs = options.debounceMs ?? 200;
    this.#fullReloadMs = options.fullReloadMs ?? 60_000;
    this.#retryMs = options.retryMs ?? 5_000;
    this.#log = options.log ?? silentLogger;
  }

  /** Loads the first table (from the source, else the snapshot, else none) and starts following changes. */
  async start(): Promise<RouteFeedStatus> {
    this.#stopped = false;
    this.#unsubscribe = this.options.source?.subscribe(() => this.#schedule('change', this.#debounceMs));
    await this.reload();
    if (this.#status.origin === 'none' && this.options.source) await this.#loadSnapshot();
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

  get status(): RouteFeedStatus {
    return { ...this.#status };
  }

  /** Loads the full table now; concurrent calls share one load plus at most one more. */
  async reload(): Promise<void> {
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
    do {
      this.#again = false;
      const ok = await this.#loadOnce();
      if (this.#timerKind !== 'change') this.#schedule('periodic', ok ? this.#fullReloadMs : this.#retryMs);
    } while (this.#again && !this.#stopped);
  }

  async #loadOnce(): Promise<boolean> {
    const { source } = this.options;
    if (!source) return this.#loadSnapshot();
    let routes: Route[];
    try {
      routes = await source.load();
    } catch (err) {
      this.#failed(err, 'route source failed; keeping the current routes');
      return false;
    }
    if (this.#stopped) return true;
    this.#use(routes, 'source');
    await this.#save(routes);
    return true;
  }

  async #loadSnapshot(): Promise<boolean> {
    try {
      const { routes, savedAt } = await readSnapshot(this.options.snapshotPath);
      if (this.#status.origin === 'source') return true;
      if (this.#use(routes, 'snapshot')) {
        this.#log.info({ path: this.options.snapshotPath, savedAt, routes: routes.length }, 'serving routes from the snapshot');
      }
      return true;
    } catch (err) {
      this.#failed(err, 'no usable route snapshot');
      return false;
    }
  }

  /** Serves `routes`; true when they differ from the table served so far (only then is `apply` called). */
  #use(routes: Route[], origin: RouteOrigin): boolean {
    const json = JSON.stringify(routes);
    const changed = json !== this.#appliedJson;
    if (changed) this.options.apply(routes);
    this.#appliedJson = json;
    this.#status = { origin, routes: routes.length, loadedAt: new Date() };
    return changed;
  }

  /** Logs a failure when it differs from the previous one (a source down for an hour logs once, not every retry). */
  #failed(err: unknown, message: string): void {
    const text = err instanceof Error ? err.message : String(err);
    const context = { err, path: this.options.snapshotPath, serving: this.#status.origin, routes: this.#status.routes };
    if (text !== this.#status.lastError) this.#log.warn(context, message);
    else this.#log.debug(context, message);
    this.#status.lastError = text;
  }

  async #save(routes: Route[]): Promise<void> {
    const json = JSON.stringify(routes);
    if (json === this.#savedJson) return;
    try {
      await writeSnapshot(this.options.snapshotPath, routes);
      this.#savedJson = json;
    } catch (err) {
      this.#log.warn({ err, path: this.options.snapshotPath }, 'cannot save the route snapshot');
    }
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
    this.#timer.unref();
  }
}
