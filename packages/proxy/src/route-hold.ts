import type { ServerResponse } from 'node:http';

export interface RouteHoldOptions {
  /** How long a request is held at most before it gets 503 with Retry-After (default 30 s). */
  maxWaitMs?: number;
  /** Requests held at once per route; the next gets 503 with Retry-After at once (default 1000). */
  maxPerRoute?: number;
}

export const DEFAULT_HOLD_MS = 30_000;
export const DEFAULT_HOLD_PER_ROUTE = 1000;

/** Why a held request was let go without a route to serve it. */
export type HoldRefusal = 'full' | 'timeout' | 'gone';

/**
 * Requests held while their route has no upstream (its replicas are being
 * swapped: a single-writer volume's rollout stops the old replica before the
 * new one starts). Each waits until `ready` finds what it needs after a route
 * reload (`wake`), its deadline, or its client leaving; at most `maxPerRoute`
 * wait per route. Nothing here runs for a route that has upstreams.
 */
export class RouteHold {
  readonly #maxWaitMs: number;
  readonly #maxPerRoute: number;
  readonly #waiters = new Set<() => void>();
  readonly #heldPerRoute = new Map<string, number>();

  constructor(options: RouteHoldOptions = {}) {
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_HOLD_MS;
    this.#maxPerRoute = options.maxPerRoute ?? DEFAULT_HOLD_PER_ROUTE;
  }

  /** Requests held right now. */
  get held(): number {
    return this.#waiters.size;
  }

  /** The routes were reloaded: every held request looks again. */
  wake(): void {
    for (const check of [...this.#waiters]) check();
  }

  /**
   * Holds a request of route `key` until `ready()` returns something, which
   * it resolves with; or with `full` (too many held), `timeout` or `gone`
   * (the client closed its connection).
   */
  hold<T>(key: string, ready: () => T | undefined, client: ServerResponse): Promise<T | HoldRefusal> {
    const count = this.#heldPerRoute.get(key) ?? 0;
    if (count >= this.#maxPerRoute) return Promise.resolve('full');
    this.#heldPerRoute.set(key, count + 1);
    return new Promise((resolve) => {
      const finish = (result: T | HoldRefusal) => {
        clearTimeout(deadline);
        this.#waiters.delete(check);
        client.off('close', leave);
        const left = (this.#heldPerRoute.get(key) ?? 1) - 1;
        if (left > 0) this.#heldPerRoute.set(key, left);
        else this.#heldPerRoute.delete(key);
        resolve(result);
      };
      const check = () => {
        const found = ready();
        if (found !== undefined) finish(found);
      };
      const leave = () => finish('gone');
      const deadline = setTimeout(() => finish('timeout'), this.#maxWaitMs);
      this.#waiters.add(check);
      client.once('close', leave);
    });
  }
}
