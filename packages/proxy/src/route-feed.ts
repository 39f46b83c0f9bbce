import { Feed, type FeedSnapshot, type Route, type RouteSource } from '@pier/core';
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
 * Keeps the proxy's routes current: a `Feed` of the route table (loaded at
 * start, again after each change notification, in full every
 * `fullReloadMs`), saved as the snapshot file after each change; when the
 * source fails at start, the snapshot is served so the proxy works while
 * Postgres is down. A failing reload keeps the current table.
 */
export class RouteFeed {
  readonly #feed: Feed<Route[]>;
  #routes = 0;

  constructor(options: RouteFeedOptions) {
    this.#feed = new Feed({
      name: 'routes',
      source: options.source,
      snapshot: fileSnapshot(options.snapshotPath),
      apply: (routes) => {
        this.#routes = routes.length;
        options.apply(routes);
      },
      describe: (routes) => ({ routes: routes.length }),
      logger: options.log ?? silentLogger,
      debounceMs: options.debounceMs,
      fullReloadMs: options.fullReloadMs,
      retryMs: options.retryMs,
    });
  }

  /** Loads the first table (from the source, else the snapshot, else none) and starts following changes. */
  async start(): Promise<RouteFeedStatus> {
    await this.#feed.start();
    return this.status;
  }

  stop(): Promise<void> {
    return this.#feed.stop();
  }

  get status(): RouteFeedStatus {
    return { ...this.#feed.status, routes: this.#routes };
  }

  /** Loads the full table now; concurrent calls share one load plus at most one more. */
  reload(): Promise<void> {
    return this.#feed.reload();
  }
}

/** The route snapshot file (`readSnapshot` / `writeSnapshot`) as a feed's snapshot. */
function fileSnapshot(path: string): FeedSnapshot<Route[]> {
  return {
    path,
    load: async () => (await readSnapshot(path)).routes,
    save: (routes) => writeSnapshot(path, routes),
  };
}
