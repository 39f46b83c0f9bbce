import type { Route, RouteUpstream } from '@pier/core';

/**
 * Round robin over a route's usable upstreams. The cursor lives with the
 * route object, so a replaced table starts a fresh rotation.
 */
export class RoundRobin {
  #cursors = new WeakMap<Route, number>();

  /** The next upstream for which `usable` holds, other than `exclude`; undefined when there is none. */
  pick(route: Route, usable: (upstream: RouteUpstream) => boolean, exclude?: RouteUpstream): RouteUpstream | undefined {
    const { upstreams } = route;
    const start = this.#cursors.get(route) ?? 0;
    for (let step = 0; step < upstreams.length; step++) {
      const index = (start + step) % upstreams.length;
      const upstream = upstreams[index];
      if (upstream && upstream !== exclude && usable(upstream)) {
        this.#cursors.set(route, index + 1);
        return upstream;
      }
    }
    return undefined;
  }
}
