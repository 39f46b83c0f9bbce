import type { HealthCheckPath, Route, RouteUpstream } from '@pier/core';
import { canonicalHostname, hostFromHeader } from './hostnames.ts';

/** A hostname that two routes claim; the first route in the list keeps it. */
export interface HostnameConflict {
  hostname: string;
  kept: { app: string; env: string };
  dropped: { app: string; env: string };
}

/** One upstream to health-check, with the route it serves. */
export interface HealthTarget {
  upstream: RouteUpstream;
  /** The live release's check: a path, `tcp`, or null: automatic. */
  check: HealthCheckPath;
  /** Sent as `Host`: the route's first hostname (the environment's generated one). */
  hostname?: string;
  app: string;
  env: string;
}

/**
 * The proxy's routes, in memory: hostname → route. Replaced as a whole, so a
 * request sees either the old table or the new one, never a mix; a request
 * already forwarded keeps the route object it looked up.
 */
export class RouteTable {
  #byHost = new Map<string, Route>();
  #routes: readonly Route[] = [];
  readonly #listeners = new Set<() => void>();

  /** Swaps in a new table; returns the hostnames claimed twice (first claim wins). */
  replace(routes: readonly Route[]): HostnameConflict[] {
    const byHost = new Map<string, Route>();
    const conflicts: HostnameConflict[] = [];
    for (const route of routes) {
      for (const name of route.hostnames) {
        const hostname = canonicalHostname(name);
        const kept = byHost.get(hostname);
        if (kept) conflicts.push({ hostname, kept: identify(kept), dropped: identify(route) });
        else byHost.set(hostname, route);
      }
    }
    this.#byHost = byHost;
    this.#routes = routes;
    for (const listener of this.#listeners) listener();
    return conflicts;
  }

  /** Calls `listener` after each replace (the edge proxy's held requests look again); returns the unsubscribe. */
  onReplace(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The route serving a `Host` header's hostname, if any. */
  lookup(hostHeader: string | undefined): Route | undefined {
    return this.#byHost.get(hostFromHeader(hostHeader));
  }

  get routes(): readonly Route[] {
    return this.#routes;
  }

  get hostnameCount(): number {
    return this.#byHost.size;
  }

  /** Every upstream once, with its route's health check and hostname. */
  healthTargets(): HealthTarget[] {
    const targets = new Map<string, HealthTarget>();
    for (const route of this.#routes) {
      const check = route.healthPath ?? null;
      const [hostname] = route.hostnames;
      for (const upstream of route.upstreams) {
        if (targets.has(upstream.id)) continue;
        targets.set(upstream.id, { upstream, check, ...(hostname ? { hostname } : {}), app: route.app, env: route.env });
      }
    }
    return [...targets.values()];
  }
}

function identify(route: Route): { app: string; env: string } {
  return { app: route.app, env: route.env };
}
