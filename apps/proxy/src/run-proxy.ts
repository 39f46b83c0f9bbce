import type { Server } from 'node:http';
import { exitOnStartupError, onShutdownSignal, type ProxyConfig } from '@pier/config';
import type { RequestMetricsSink, RouteSource } from '@pier/core';
import { createLogger, type Logger } from '@pier/log';
import {
  ClusterMetrics,
  EdgeProxy,
  type Forwarder,
  type HealthCheckResult,
  HealthPoller,
  MetricsFlusher,
  ProxyMetrics,
  RouteFeed,
  RouteTable,
  UndiciForwarder,
} from '@pier/proxy';
import type { ChallengeLookup } from './acme-challenge-responder.ts';
import { createAdminServer } from './admin-server.ts';
import { connectControlPlane } from './control-plane.ts';
import { edgeCdnFrom } from './edge-cdn-config.ts';
import { EdgeCluster } from './edge-cluster.ts';
import { listen } from './listen.ts';
import { createCertificates, createPublicListeners } from './public-listeners.ts';
import { closeGracefully } from './public-server.ts';
import type { CertificateSource } from './tls-certificate-feed.ts';
import type { CertificateBook, LoadedCertificate } from './tls-certificates.ts';

/** In-flight requests get this long to finish on shutdown (below onShutdownSignal's 30 s). */
const DRAIN_TIMEOUT_MS = 20_000;

export interface ProxyDeps {
  /**
   * Where routes come from; Postgres (query + LISTEN/NOTIFY, connectControlPlane)
   * when absent. The snapshot at PIER_PROXY_SNAPSHOT covers a source that is down.
   */
  routeSource?: RouteSource;
  /** The data path; undici by default (docs/decisions/0001-proxy-data-path.md). Given one, the proxy serves in this process alone. */
  forwarder?: Forwarder;
  /** Upstream health changes, for the control plane (the reconciler restarts what stays unhealthy). */
  onUpstreamHealth?: (upstreamId: string, healthy: boolean, detail: HealthCheckResult) => void;
  /** Certificates to serve; Postgres when absent (none with an injected routeSource). */
  certificateSource?: CertificateSource;
  /** ACME HTTP-01 answers; Postgres when absent (none with an injected routeSource). */
  challengeLookup?: ChallengeLookup;
  /** Where request counts are flushed; Postgres when absent (none with an injected routeSource). */
  requestMetrics?: RequestMetricsSink;
  /** Names of secrets the process was handed that it never needs (and dropped), to be reported. */
  handedSecrets?: readonly string[];
}

/**
 * The edge proxy process: the route and certificate feeds, active health
 * checks, the loopback admin endpoint (`/health`, `/metrics`) and the public
 * HTTP and HTTPS listeners (`createPublicListeners`). With
 * `PIER_PROXY_PROCESSES` above 1 the listeners are served by that many
 * processes (`EdgeCluster`), to which this one hands routes, health and
 * certificates; with 1 it serves them itself.
 */
export async function runProxy(config: ProxyConfig, deps: ProxyDeps = {}): Promise<void> {
  const logger = createLogger({ name: 'proxy', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  if (deps.handedSecrets?.length) {
    logger.warn(
      { names: deps.handedSecrets },
      "the proxy was given secrets it never needs (dropped them); give it an environment of its own (README, 'Security model')",
    );
  }
  const serving = config.PIER_PROXY_PROCESSES > 1 && !deps.forwarder ? config.PIER_PROXY_PROCESSES : 1;
  const table = new RouteTable();
  const controlPlane = deps.routeSource ? null : connectControlPlane(config, logger);
  const routeSource = deps.routeSource ?? controlPlane?.routeSource;
  const challengeLookup = deps.challengeLookup ?? controlPlane?.challengeLookup;
  const requestMetrics = deps.requestMetrics ?? controlPlane?.requestMetrics;
  const reportHealth = deps.onUpstreamHealth ?? controlPlane?.onUpstreamHealth;
  const metrics = serving > 1 ? new ClusterMetrics({ keepBuckets: requestMetrics !== undefined }) : new ProxyMetrics();
  const flusher = requestMetrics
    ? new MetricsFlusher({ metrics, sink: requestMetrics, intervalMs: config.PIER_PROXY_METRICS_FLUSH_MS, log: logger })
    : null;
  let edgeCluster: EdgeCluster | null = null;
  const poller = new HealthPoller({
    targets: () => table.healthTargets(),
    onChange: (upstreamId, healthy, detail) => {
      edgeCluster?.broadcast({ kind: 'health', upstreamId, healthy });
      reportHealth?.(upstreamId, healthy, detail);
    },
    log: logger,
  });
  const forwarder =
    serving > 1
      ? null
      : (deps.forwarder ?? new UndiciForwarder({ tunnelIdleTimeoutMs: config.PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS }));
  const feed = new RouteFeed({
    source: routeSource,
    snapshotPath: config.PIER_PROXY_SNAPSHOT,
    log: logger,
    apply: (routes) => {
      for (const conflict of table.replace(routes)) logger.warn(conflict, 'hostname claimed by two routes; the first keeps it');
      poller.sync();
      forwarder?.retain(routes.flatMap((route) => route.upstreams));
      edgeCluster?.broadcast({ kind: 'routes', routes: [...routes] });
    },
  });
  let served: readonly LoadedCertificate[] = [];
  const certificates = await createCertificates({
    config,
    source: deps.certificateSource ?? controlPlane?.certificateSource,
    applied: (loaded) => {
      served = loaded;
      edgeCluster?.broadcast({ kind: 'certificates', certificates: [...loaded] });
    },
    log: logger,
  });
  const admin = createAdminServer({
    metrics,
    poller,
    feed,
    certificates: certificates.book,
    refresh: serving > 1 ? () => edgeCluster?.refresh() ?? Promise.resolve() : undefined,
  });

  const [routes] = await Promise.all([feed.start(), certificates.feed?.start()]);
  poller.start();
  flusher?.start();
  let stopServing: () => Promise<void>;
  try {
    if (serving > 1) {
      edgeCluster = new EdgeCluster({
        config,
        processes: serving,
        fallback: certificates.fallback,
        routes: () => [...table.routes],
        unhealthy: () => poller.report().flatMap((r) => (r.healthy ? [] : [r.upstreamId])),
        certificates: () => [...served],
        challengeLookup,
        onSuspect: (upstreamId) => poller.suspect(upstreamId),
        metrics: metrics as ClusterMetrics,
        log: logger,
      });
      const cluster = edgeCluster;
      stopServing = () => cluster.stop(DRAIN_TIMEOUT_MS + 5_000);
      await cluster.start();
      await listen(admin, config.PIER_PROXY_ADMIN_PORT, '127.0.0.1', logger, 'admin');
    } else {
      stopServing = await serveHere(config, {
        table,
        poller,
        metrics: metrics as ProxyMetrics,
        forwarder: forwarder as Forwarder,
        book: certificates.book,
        challengeLookup,
        logger,
        admin,
      });
    }
  } catch (err) {
    exitOnStartupError('proxy', err);
  }
  onShutdownSignal(logger, async () => {
    await stopServing();
    await Promise.all([feed.stop(), certificates.feed?.stop(), poller.stop(), close(admin)]);
    await flusher?.stop(); // what the last requests counted, before the database goes
    await controlPlane?.close();
  });
  logger.info(
    {
      httpPort: config.PIER_HTTP_PORT,
      httpsPort: config.PIER_HTTPS_PORT,
      processes: serving,
      certificates: certificates.book.size,
      adminPort: config.PIER_PROXY_ADMIN_PORT,
      routes: routes.routes,
      routesFrom: routes.origin,
    },
    'proxy started',
  );
}

interface ServeHereDeps {
  table: RouteTable;
  poller: HealthPoller;
  metrics: ProxyMetrics;
  forwarder: Forwarder;
  book: CertificateBook;
  challengeLookup?: ChallengeLookup;
  logger: Logger;
  admin: Server;
}

/** One process: the edge proxy and the public listeners here; returns how to stop them. */
async function serveHere(config: ProxyConfig, deps: ServeHereDeps): Promise<() => Promise<void>> {
  const { table, poller, metrics, forwarder, book, logger } = deps;
  const edge = new EdgeProxy({
    routes: table,
    health: poller,
    forwarder,
    metrics,
    log: logger,
    maxTunnels: config.PIER_PROXY_MAX_TUNNELS,
    maxTunnelsPerClient: config.PIER_PROXY_MAX_TUNNELS_PER_CLIENT,
    cdn: edgeCdnFrom(config),
  });
  const { http, https } = createPublicListeners({ config, edge, table, book, challengeLookup: deps.challengeLookup });
  await Promise.all([
    listen(http, config.PIER_HTTP_PORT, config.PIER_PROXY_HOST, logger, 'http'),
    listen(https, config.PIER_HTTPS_PORT, config.PIER_PROXY_HOST, logger, 'https'),
    listen(deps.admin, config.PIER_PROXY_ADMIN_PORT, '127.0.0.1', logger, 'admin'),
  ]);
  return async () => {
    await Promise.all([closeGracefully(http, edge, DRAIN_TIMEOUT_MS), closeGracefully(https, edge, DRAIN_TIMEOUT_MS)]);
    await forwarder.close();
  };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
