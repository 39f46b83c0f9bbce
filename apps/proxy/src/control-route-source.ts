import type { ProxyConfig } from '@pier/config';
import { controlRoute, type RouteSource, withFixedRoutes } from '@pier/core';

/**
 * `source` with the control plane's front door added: PIER_CONTROL_HOSTNAME
 * routed to the api (PIER_CONTROL_UPSTREAM), ahead of every app's route.
 * Without the setting, `source` as it is.
 */
export function withControlRoute(
  source: RouteSource,
  config: Pick<ProxyConfig, 'PIER_CONTROL_HOSTNAME' | 'PIER_CONTROL_UPSTREAM'>,
): RouteSource {
  const hostname = config.PIER_CONTROL_HOSTNAME;
  if (!hostname) return source;
  const fixed = [controlRoute(hostname, config.PIER_CONTROL_UPSTREAM)];
  return {
    load: async () => withFixedRoutes(fixed, await source.load()),
    subscribe: (onChange, onError) => source.subscribe(onChange, onError),
  };
}
