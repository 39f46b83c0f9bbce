import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type HealthPoller, type ProxyMetrics, type RouteFeed, upstreamHealthLines } from '@pier/proxy';

export interface AdminServerDeps {
  /** This process's counts, or the sum of the serving processes' (ClusterMetrics). */
  metrics: Pick<ProxyMetrics, 'inFlight' | 'render'>;
  poller: HealthPoller;
  feed: RouteFeed;
  /** Certificates being served: their count for /health, their expiry for /metrics. */
  certificates?: { readonly size: number; metricLines(): string };
  /** Brings `metrics` up to date before an answer (the serving processes report theirs). */
  refresh?: () => Promise<void>;
}

/**
 * The proxy's own endpoints, for the loopback admin port only: `/health`
 * (process liveness plus where its routes came from) and `/metrics`
 * (Prometheus text format).
 */
export function createAdminServer({ metrics, poller, feed, certificates, refresh }: AdminServerDeps): Server {
  return createServer((req, res) => {
    if (refresh) void refresh().then(() => answer(req, res));
    else answer(req, res);
  });

  function answer(req: IncomingMessage, res: ServerResponse): void {
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
  }
}
