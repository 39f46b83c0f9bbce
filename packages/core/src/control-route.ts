import type { Route } from './ports/route-source.ts';

/** The route of the control plane's front door (`PIER_CONTROL_HOSTNAME` → the api). */
export const CONTROL_ROUTE_APP = 'pier';
export const CONTROL_ROUTE_ENV = 'control';

/**
 * The proxy's own route to the api: one hostname, one upstream, health-polled
 * on the api's `/health`, redirected to HTTPS once its certificate is issued
 * and then with HSTS (a browser must never send a token over plain HTTP again).
 */
export function controlRoute(hostname: string, api: { host: string; port: number }): Route {
  return {
    app: CONTROL_ROUTE_APP,
    env: CONTROL_ROUTE_ENV,
    hostnames: [hostname],
    upstreams: [{ id: 'pier-api', host: api.host, port: api.port }],
    healthPath: '/health',
    hsts: true,
  };
}

/**
 * `routes` with `fixed` first, and the hostnames `fixed` serves taken out of
 * every other route: no app can capture Pier's own hostnames, even through
 * a row written before they were reserved.
 */
export function withFixedRoutes(fixed: readonly Route[], routes: readonly Route[]): Route[] {
  const reserved = new Set(fixed.flatMap((route) => route.hostnames));
  if (reserved.size === 0) return [...routes];
  const others = routes
    .map((route) => ({ ...route, hostnames: route.hostnames.filter((name) => !reserved.has(name)) }))
    .filter((route) => route.hostnames.length > 0);
  return [...fixed, ...others];
}

/** Why names that would be served (generated or custom) may not be: one is the control hostname. */
export function controlHostnameProblem(control: string | undefined, hostnames: readonly string[]): string | undefined {
  if (!control || !hostnames.includes(control)) return undefined;
  return `${control} is Pier's own control hostname (PIER_CONTROL_HOSTNAME)`;
}
