import type { Route, RouteSource } from '@pier/core';

/** A RouteSource in memory, for tests: set its routes (which notifies), make it fail, count its loads. */
export class MemoryRouteSource implements RouteSource {
  #routes: Route[] = [];
  failing = false;
  loads = 0;
  readonly listeners = new Set<() => void>();

  async load(): Promise<Route[]> {
    this.loads++;
    if (this.failing) throw new Error('connection refused (in-memory source made to fail)');
    return structuredClone(this.#routes);
  }

  subscribe(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => {
      this.listeners.delete(onChange);
    };
  }

  /** Replaces the routes and notifies subscribers, as a committed change would. */
  set(routes: Route[]): void {
    this.#routes = structuredClone(routes);
    this.notify();
  }

  /** Replaces the routes without a notification (a lost NOTIFY). */
  setSilently(routes: Route[]): void {
    this.#routes = structuredClone(routes);
  }

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}
