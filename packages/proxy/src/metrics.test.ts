import { describe, expect, it } from 'vitest';
import { NO_ROUTE, ProxyMetrics, upstreamHealthLines } from './metrics.ts';

describe('ProxyMetrics', () => {
  it('renders counters, the in-flight gauge and a cumulative latency histogram', () => {
    const metrics = new ProxyMetrics();
    const web = { app: 'web', env: 'production' };
    for (const status of [200, 204, 302, 404, 502, 499]) {
      metrics.requestStarted();
      metrics.requestFinished(web, status);
    }
    metrics.requestStarted();
    metrics.requestFinished(NO_ROUTE, 404);
    metrics.requestStarted();
    metrics.upstreamLatency(web, 0.004);
    metrics.upstreamLatency({ ...web }, 0.2);
    metrics.upstreamLatency(web, 99);
    metrics.upstreamError(web, 'connect');
    metrics.retried();
    const text = metrics.render('extra 1\n');
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="2xx"} 2\n');
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="3xx"} 1\n');
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="4xx"} 2\n');
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="5xx"} 1\n');
    expect(text).toContain('pier_proxy_requests_total{app="",env="",code="4xx"} 1\n');
    expect(text).toContain('pier_proxy_requests_in_flight 1\n');
    expect(text).toContain('pier_proxy_upstream_latency_seconds_bucket{app="web",env="production",le="0.005"} 1\n');
    expect(text).toContain('pier_proxy_upstream_latency_seconds_bucket{app="web",env="production",le="0.25"} 2\n');
    expect(text).toContain('pier_proxy_upstream_latency_seconds_bucket{app="web",env="production",le="30"} 2\n');
    expect(text).toContain('pier_proxy_upstream_latency_seconds_bucket{app="web",env="production",le="+Inf"} 3\n');
    expect(text).toContain('pier_proxy_upstream_latency_seconds_count{app="web",env="production"} 3\n');
    expect(text).toContain('pier_proxy_upstream_errors_total{app="web",env="production",kind="connect"} 1\n');
    expect(text).toContain('pier_proxy_upstream_retries_total 1\n');
    expect(text.endsWith('extra 1\n')).toBe(true);
  });

  it('renders the open-tunnel gauge and the tunnels refused at the cap', () => {
    const metrics = new ProxyMetrics();
    metrics.tunnelOpened();
    metrics.tunnelOpened();
    metrics.tunnelClosed();
    metrics.tunnelRefused();
    expect(metrics.tunnelsOpen).toBe(1);
    const text = metrics.render();
    expect(text).toContain('pier_proxy_tunnels_open 1\n');
    expect(text).toContain('pier_proxy_tunnels_refused_total 1\n');
  });

  it('escapes label values and renders health gauges', () => {
    expect(upstreamHealthLines([{ upstreamId: 'c"1', app: 'web', env: 'production', healthy: false }])).toContain(
      'pier_proxy_upstream_healthy{app="web",env="production",upstream="c\\"1"} 0\n',
    );
  });
});
