import { createServer, type Server } from 'node:http';
import { type HealthPoller, type ProxyMetrics, type RouteFeed, upstreamHealthLines } from '@pier/proxy';

export interface AdminServerDeps {
  metrics: ProxyMetrics;
  poller: HealthPoller;
  feed: RouteFeed;
  /** Certificates being served: their count for /health, their expiry for /metrics. */
  certificates?: { readonly size: number; metricLines(): string };
}

/**
 * The proxy's own endpoints, for the loopback admin port only: `/health`
 * (process liveness plus where its routes came from) and `/metrics`
 * (Prometheus text format).
 */
export function createAdminServer({ metrics, poller, feed, certificates }: AdminServerDeps): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      const upstreams = poller.report();
      const status = feed.status;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(
        JSON.stringify({
          status: 'ok',
          routes: { origin: status.origin, count: status.routes, loadedAt: status.loadedAt, lastError: status.lastError },
          upstreams: { total: upstreams.length, healthy: upstreams.filter((u) => u.healthy).length },
          inFlight: metrics.inFlight,
          certificates: certificates?.size ?? 0,
        }),
      );
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(metrics.render(upstreamHealthLines(poller.report()) + (certificates?.metricLines() ?? '')));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'no such path' } }));
  });
}
