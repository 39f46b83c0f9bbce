import type { Server } from 'node:http';
import { exitOnStartupError, onShutdownSignal, type ProxyConfig } from '@pier/config';
import type { RequestMetricsSink, RouteSource } from '@pier/core';
import { createLogger, type Logger } from '@pier/log';
import {
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
import { createPublicListeners } from './public-listeners.ts';
import { closeGracefully } from './public-server.ts';
import type { CertificateSource } from './tls-certificate-feed.ts';

/** In-flight requests get this long to finish on shutdown (below onShutdownSignal's 30 s). */
const DRAIN_TIMEOUT_MS = 20_000;

export interface ProxyDeps {
  /**
   * Where routes come from; Postgres (query + LISTEN/NOTIFY, connectControlPlane)
   * when absent. The snapshot at PIER_PROXY_SNAPSHOT covers a source that is down.
   */
  routeSource?: RouteSource;
  /** The data path; undici by default (docs/decisions/0001-proxy-data-path.md). */
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
 * The edge proxy process: the public HTTP and HTTPS listeners
 * (`createPublicListeners`), the route and certificate feeds, active health
 * checks, and the loopback admin endpoint (`/health`, `/metrics`).
 */
export async function runProxy(config: ProxyConfig, deps: ProxyDeps = {}): Promise<void> {
  const logger = createLogger({ name: 'proxy', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  if (deps.handedSecrets?.length) {
    logger.warn(
      { names: deps.handedSecrets },
      "the proxy was given secrets it never needs (dropped them); give it an environment of its own (README, 'Security model')",
    );
  }
  const table = new RouteTable();
  const controlPlane = deps.routeSource ? null : connectControlPlane(config, logger);
  const routeSource = deps.routeSource ?? controlPlane?.routeSource;
  const onUpstreamHealth = deps.onUpstreamHealth ?? controlPlane?.onUpstreamHealth;
  const metrics = new ProxyMetrics();
  const requestMetrics = deps.requestMetrics ?? controlPlane?.requestMetrics;
  const flusher = requestMetrics
    ? new MetricsFlusher({ metrics, sink: requestMetrics, intervalMs: config.PIER_PROXY_METRICS_FLUSH_MS, log: logger })
    : null;
  const forwarder = deps.forwarder ?? new UndiciForwarder({ tunnelIdleTimeoutMs: config.PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS });
  const poller = new HealthPoller({ targets: () => table.healthTargets(), onChange: onUpstreamHealth, log: logger });
  const feed = new RouteFeed({
    source: routeSource,
    snapshotPath: config.PIER_PROXY_SNAPSHOT,
    log: logger,
    apply: (routes) => {
      for (const conflict of table.replace(routes)) logger.warn(conflict, 'hostname claimed by two routes; the first keeps it');
      poller.sync();
      forwarder.retain(routes.flatMap((route) => route.upstreams));
    },
  });
  const edge = new EdgeProxy({
    routes: table,
    health: poller,
    forwarder,
    metrics,
    log: logger,
    maxTunnels: config.PIER_PROXY_MAX_TUNNELS,
    maxTunnelsPerClient: config.PIER_PROXY_MAX_TUNNELS_PER_CLIENT,
  });
  const {
    http: publicHttp,
    https: publicHttps,
    book,
    certificates,
  } = await createPublicListeners({
    config,
    edge,
    table,
    certificateSource: deps.certificateSource ?? controlPlane?.certificateSource,
    challengeLookup: deps.challengeLookup ?? controlPlane?.challengeLookup,
    log: logger,
  });
  const admin = createAdminServer({ metrics, poller, feed, certificates: book });

  onShutdownSignal(logger, async () => {
    await Promise.all([
      closeGracefully(publicHttp, edge, DRAIN_TIMEOUT_MS),
      closeGracefully(publicHttps, edge, DRAIN_TIMEOUT_MS),
    ]);
    await Promise.all([feed.stop(), certificates?.stop(), poller.stop(), forwarder.close(), close(admin)]);
    await flusher?.stop(); // what the last requests counted, before the database goes
    await controlPlane?.close();
  });

  const [routes] = await Promise.all([feed.start(), certificates?.start()]);
  poller.start();
  flusher?.start();
  await Promise.all([
    listen(publicHttp, config.PIER_HTTP_PORT, config.PIER_PROXY_HOST, logger, 'http'),
    listen(publicHttps, config.PIER_HTTPS_PORT, config.PIER_PROXY_HOST, logger, 'https'),
    listen(admin, config.PIER_PROXY_ADMIN_PORT, '127.0.0.1', logger, 'admin'),
  ]).catch((err) => exitOnStartupError('proxy', err));
  logger.info(
    {
      httpPort: config.PIER_HTTP_PORT,
      httpsPort: config.PIER_HTTPS_PORT,
      certificates: book.size,
      adminPort: config.PIER_PROXY_ADMIN_PORT,
      routes: routes.routes,
      routesFrom: routes.origin,
    },
    'proxy started',
  );
}

function listen(server: Server, port: number, host: string, logger: Logger, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => logger.error({ err, listener: name }, 'listener error'));
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
