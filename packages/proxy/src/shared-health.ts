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

  /** Replaces the whole state with the upstreams now out of rotation. */
  reset(unhealthy: Iterable<string>): void {
    this.#unhealthy.clear();
    for (const id of unhealthy) this.#unhealthy.add(id);
  }
}
