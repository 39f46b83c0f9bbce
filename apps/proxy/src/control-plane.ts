import type { ProxyConfig } from '@pier/config';
import { type RequestMetricsSink, type RouteSource, SecretBox } from '@pier/core';
import {
  CERTIFICATES_CHANNEL,
  CertificateStore,
  connectDatabase,
  holdsMoreThanProxyNeeds,
  listenTo,
  PostgresChallengeResponses,
  PostgresRequestMetrics,
  PostgresRouteSource,
  ReplicaStore,
} from '@pier/db';
import type { Logger } from '@pier/log';
import type { ChallengeLookup } from './acme-challenge-responder.ts';
import { withControlRoute } from './control-route-source.ts';
import type { CertificateSource } from './tls-certificate-feed.ts';

export interface ControlPlaneLink {
  routeSource: RouteSource;
  /** Certificates to serve (keys opened with PIER_PROXY_KEY), with change notifications. */
  certificateSource: CertificateSource;
  /** Key authorizations of ACME HTTP-01 challenges, published by the worker. */
  challengeLookup: ChallengeLookup;
  /** Health as the proxy sees it, recorded on the replica so the reconciler replaces what stays unhealthy. */
  onUpstreamHealth: (upstreamId: string, healthy: boolean) => void;
  /** Where the requests it counted go (request_metrics), flushed every PIER_PROXY_METRICS_FLUSH_MS. */
  requestMetrics: RequestMetricsSink;
  close(): Promise<void>;
}

/**
 * The proxy's link to Postgres: routes and certificates (query +
 * LISTEN/NOTIFY), challenge answers and health reports. The connection is
 * lazy, so the proxy starts from its snapshot while Postgres is down and
 * picks the tables up when it returns.
 */
export function connectControlPlane(config: ProxyConfig, logger: Logger): ControlPlaneLink {
  const database = connectDatabase(config.PIER_PROXY_DATABASE_URL ?? config.DATABASE_URL, {
    max: 3,
    applicationName: 'pier-proxy',
  });
  const replicas = new ReplicaStore(database.db);
  const box = new SecretBox(config.PIER_PROXY_KEY, config.PIER_PROXY_KEYS_PREVIOUS);
  // Once Postgres answers: a role that can read more than routes and certificates is reported, not refused.
  holdsMoreThanProxyNeeds(database.sql)
    .then((wide) => {
      if (wide) {
        logger.warn(
          "the proxy's database role can read every table (variables, secrets): set PIER_PROXY_DATABASE_URL to a role of its own (README, 'Security model')",
        );
      }
    })
    .catch(() => {}); // Postgres down: the snapshot serves, and the next start checks again

  const certificates = new CertificateStore(database.db, box);
  const challenges = new PostgresChallengeResponses(database.db);
  return {
    routeSource: withControlRoute(new PostgresRouteSource(database.db, database.sql, config.PIER_BASE_DOMAIN), config),
    certificateSource: {
      load: () => certificates.serving(),
      subscribe: listenTo(database.sql, CERTIFICATES_CHANNEL),
    },
    challengeLookup: (token, hostname) => challenges.answer(token, hostname),
    onUpstreamHealth: (upstreamId, healthy) => {
      replicas.reportHealth(upstreamId, healthy).catch((err: unknown) => {
        logger.warn({ err, upstreamId, healthy }, 'could not report upstream health');
      });
    },
    requestMetrics: new PostgresRequestMetrics(database.sql),
    close: () => database.close(),
  };
}
