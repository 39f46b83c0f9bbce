import type { ProxyConfig } from '@pier/config';
import type { RouteSource } from '@pier/core';
import { connectDatabase, PostgresRouteSource, ReplicaStore } from '@pier/db';
import type { Logger } from '@pier/log';

export interface ControlPlaneLink {
  routeSource: RouteSource;
  /** Health as the proxy sees it, recorded on the replica so the reconciler replaces what stays unhealthy. */
  onUpstreamHealth: (upstreamId: string, healthy: boolean) => void;
  close(): Promise<void>;
}

/**
 * The proxy's link to Postgres: routes (query + LISTEN/NOTIFY) and health
 * reports. The connection is lazy, so the proxy starts from its snapshot
 * while Postgres is down and picks the table up when it returns.
 */
export function connectControlPlane(config: ProxyConfig, logger: Logger): ControlPlaneLink {
  const database = connectDatabase(config.DATABASE_URL, { max: 3, applicationName: 'pier-proxy' });
  const replicas = new ReplicaStore(database.db);
  return {
    routeSource: new PostgresRouteSource(database.db, database.sql, config.PIER_BASE_DOMAIN),
    onUpstreamHealth: (upstreamId, healthy) => {
      replicas.reportHealth(upstreamId, healthy).catch((err: Error) => {
        logger.warn({ err: err.message, upstreamId, healthy }, 'could not report upstream health');
      });
    },
    close: () => database.close(),
  };
}
