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

  it('counts per environment and release of the upstream that answered, bytes too, until taken', () => {
    const metrics = new ProxyMetrics();
    const v1 = { id: 'r1', host: '127.0.0.1', port: 1, releaseId: 'rel-1' };
    const v2 = { id: 'r2', host: '127.0.0.1', port: 2, releaseId: 'rel-2' };
    const web = { app: 'web', env: 'production', environmentId: 'env-1', hostnames: [], upstreams: [v1, v2] };
    const finish = (status: number, upstream: typeof v1 | null, seconds?: number) => {
      metrics.requestStarted();
      if (seconds !== undefined) metrics.upstreamLatency(web, seconds, upstream);
      metrics.requestFinished(web, status, upstream, 10, 100);
    };
    finish(200, v1, 0.004);
    finish(200, v1, 0.2);
    finish(500, v2, 0.02);
    finish(503, null);
    const at = new Date('2026-05-01T00:01:00Z');
    const buckets = metrics.takeBuckets(at);
    const of = (releaseId: string | null) => buckets.find((b) => b.releaseId === releaseId);
    expect(buckets).toHaveLength(3);
    expect(of('rel-1')).toMatchObject({ environmentId: 'env-1', at, byClass: [0, 0, 2, 0, 0, 0], bytesIn: 20, bytesOut: 200 });
    expect(of('rel-1')?.latencyBuckets[2]).toBe(1); // 4 ms: in the ≤ 5 ms bucket
    expect(of('rel-1')?.latencyBuckets[7]).toBe(1); // 200 ms: in the ≤ 250 ms bucket
    expect(of('rel-2')).toMatchObject({ byClass: [0, 0, 0, 0, 0, 1] });
    expect(of(null)).toMatchObject({ byClass: [0, 0, 0, 0, 0, 1], latencySum: 0 });
    // Taken: the next flush has only what came after.
    expect(metrics.takeBuckets(at)).toEqual([]);
    finish(204, v1);
    expect(metrics.takeBuckets(at)).toEqual([expect.objectContaining({ releaseId: 'rel-1', byClass: [0, 0, 1, 0, 0, 0] })]);
    // Prometheus keeps totals since start, per route, bytes included.
    const text = metrics.render();
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="2xx"} 3\n');
    expect(text).toContain('pier_proxy_sent_bytes_total{app="web",env="production"} 500\n');
  });

  it('counts nothing per release for a route without an environment (the control route), and nothing at all when off', () => {
    const on = new ProxyMetrics();
    on.requestStarted();
    on.requestFinished({ app: 'pier', env: 'control' }, 200, null, 1, 1);
    expect(on.takeBuckets(new Date())).toEqual([]);
    const off = new ProxyMetrics({ count: false });
    off.requestStarted();
    off.requestFinished({ app: 'web', env: 'production', environmentId: 'env-1' }, 200, null, 1, 1);
    expect(off.inFlight).toBe(0);
    expect(off.takeBuckets(new Date())).toEqual([]);
    expect(off.render()).not.toContain('pier_proxy_requests_total{');
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
