export { ClusterMetrics } from './cluster-metrics.ts';
export { EdgeCache, type EdgeCacheOptions } from './edge-cache.ts';
export { EdgeCdn, type EdgeCdnOptions, type RouteCdn } from './edge-cdn.ts';
export { EdgeProxy, type EdgeProxyOptions } from './edge-proxy.ts';
export {
  BAD_GATEWAY,
  type ErrorResponse,
  errorResponse,
  NO_HEALTHY_UPSTREAM,
  type ProxyErrorKind,
  prefersJson,
  UNKNOWN_HOST,
  UPSTREAM_TIMEOUT,
} from './error-pages.ts';
export { clientResponseHeaders, requestIdFrom, upstreamRequestHeaders } from './forwarded-headers.ts';
export {
  type DataPathTimeouts,
  DEFAULT_TIMEOUTS,
  type Forwarder,
  type ForwardOutcome,
  type ForwardRequest,
  type UpgradeOutcome,
} from './forwarder.ts';
export { HealthPoller, type HealthPollerOptions, type UpstreamHealth, type UpstreamHealthReport } from './health-poller.ts';
export { type HealthCheckResult, type HealthProbeOptions, type ProbeAddress, probeUpstream } from './health-probe.ts';
export { canonicalHostname, hostFromHeader, hostnamesFor, PRODUCTION_ENV, requestHost } from './hostnames.ts';
export { HttpProxyForwarder, type HttpProxyForwarderOptions } from './http-proxy-forwarder.ts';
export { LATENCY_BUCKETS, type MetricsTotals, ProxyMetrics, type ProxyMetricsOptions, upstreamHealthLines } from './metrics.ts';
export { MetricsFlusher, type MetricsFlusherOptions } from './metrics-flusher.ts';
export { type ProxyLogger, silentLogger } from './proxy-logger.ts';
export { RoundRobin } from './round-robin.ts';
export { RouteFeed, type RouteFeedOptions, type RouteFeedStatus, type RouteOrigin } from './route-feed.ts';
export { readSnapshot, SnapshotError, writeFileAtomically, writeSnapshot } from './route-snapshot.ts';
export { type HealthTarget, type HostnameConflict, RouteTable } from './route-table.ts';
export { SharedHealth } from './shared-health.ts';
export { UndiciForwarder, type UndiciForwarderOptions } from './undici-forwarder.ts';
export { isWebSocketUpgrade, responseOnSocket } from './upgrade-requests.ts';
