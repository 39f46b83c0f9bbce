/** One replica of an environment, as the edge proxy reaches it from the host. */
export interface RouteUpstream {
  /** Stable id of the replica (its row's id); health reports name it. */
  id: string;
  /** The address its runtime reported (`Workload.run`): loopback on one Docker Engine, a node's address on a cluster. */
  host: string;
  port: number;
  /** The release it runs: the proxy counts requests per release (request metrics, the watch after a rollout). Absent for fixed upstreams. */
  releaseId?: string;
}

/** Where one environment of an app is served, and by which replicas. */
export interface Route {
  app: string;
  env: string;
  /** The environment's id, under which the proxy records its request metrics; absent for fixed routes (the control route). */
  environmentId?: string;
  /**
   * Every hostname that serves this environment, lower-case, without port or
   * trailing dot: the generated `<app>.<base>` / `<app>-<env>.<base>` and any
   * custom domains.
   */
  hostnames: string[];
  /** Replicas of the live release that passed their health check; may be empty. */
  upstreams: RouteUpstream[];
  /**
   * The live release's health check, which the proxy polls on every upstream
   * as the deploy's gate did: a path (GET, 2xx/3xx is healthy) or `tcp`;
   * automatic when absent (health-check.ts).
   */
  healthPath?: string;
  /**
   * Plain HTTP is redirected to HTTPS for each hostname that has a valid
   * certificate; true when absent (only `false` is ever written).
   */
  httpsRedirect?: boolean;
  /** HTTPS responses carry Strict-Transport-Security; false when absent (only `true` is ever written). */
  hsts?: boolean;
  /**
   * The environment's replicas are being swapped (a rollout is under way and
   * its web process mounts a single-writer volume, so the old replica stops
   * before the new one starts): a
   * request that finds no upstream is held until one appears, within a bound,
   * instead of refused. False when absent (only `true` is ever written).
   */
  hold?: boolean;
}

/**
 * Port: the proxy's view of which hostnames go where. Contract:
 * - `load()` resolves with the full route table as it is now (never a delta),
 *   each hostname in at most one route; it rejects when the truth cannot be
 *   read (database down), and the proxy then keeps serving what it had.
 * - `subscribe(onChange)` calls `onChange` (no arguments, possibly several
 *   times for one change, possibly spuriously) after any change that may
 *   alter the result of `load()`; the listener then calls `load()` again.
 *   It returns an unsubscribe function. Notifications may be lost (a dropped
 *   connection); the proxy's periodic full reload covers that. `onError`, when
 *   given, hears a subscription that could not be made.
 * The Postgres adapter implements it with a query plus LISTEN/NOTIFY
 * (`listenTo` in @pier/db).
 */
export interface RouteSource {
  load(): Promise<Route[]>;
  subscribe(onChange: () => void, onError?: (err: unknown) => void): () => void;
}
