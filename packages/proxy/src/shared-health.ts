import type { UpstreamHealth } from './health-poller.ts';

/**
 * Upstream health as another process polls it: the proxy's first process
 * runs the one `HealthPoller` and hands each change to the processes that
 * serve, which route by this copy. As with the poller, an upstream it has not
 * heard of counts as healthy (a new upstream passed its deploy's gate).
 */
export class SharedHealth implements UpstreamHealth {
  readonly #unhealthy = new Set<string>();

  constructor(private readonly onSuspect: (upstreamId: string) => void = () => {}) {}

  isHealthy(upstreamId: string): boolean {
    return !this.#unhealthy.has(upstreamId);
  }

  /** A request here could not connect: the poller checks it now. */
  suspect(upstreamId: string): void {
    this.onSuspect(upstreamId);
  }

  /** Applies one change. */
  set(upstreamId: string, healthy: boolean): void {
    if (healthy) this.#unhealthy.delete(upstreamId);
    else this.#unhealthy.add(upstreamId);
  }

  /** Forgets upstreams not in `ids` (no longer routed), as the poller does. */
  retain(ids: readonly string[]): void {
    if (this.#unhealthy.size === 0) return;
    const keep = new Set(ids);
    for (const id of this.#unhealthy) if (!keep.has(id)) this.#unhealthy.delete(id);
  }

  /** Replaces the whole state with the upstreams now out of rotation. */
  reset(unhealthy: Iterable<string>): void {
    this.#unhealthy.clear();
    for (const id of unhealthy) this.#unhealthy.add(id);
  }
}
