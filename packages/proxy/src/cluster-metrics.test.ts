import type { RouteUpstream } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { ClusterMetrics } from './cluster-metrics.ts';
import { ProxyMetrics } from './metrics.ts';
import { SharedHealth } from './shared-health.ts';

const route = { app: 'web', env: 'production', environmentId: 'env-1' };
const upstream = { id: 'c1', host: '127.0.0.1', port: 1, releaseId: 'rel-1' } as RouteUpstream;

/** One serving process's metrics after `requests` answered 200 and one 502. */
function servingProcess(requests: number): ProxyMetrics {
  const metrics = new ProxyMetrics();
  for (let i = 0; i < requests; i++) {
    metrics.requestStarted();
    metrics.upstreamLatency(route, 0.003, upstream);
    metrics.requestFinished(route, 200, upstream, 100, 200);
  }
  metrics.requestStarted();
  metrics.requestFinished(route, 502, null, 50, 60);
  metrics.retried();
  metrics.requestStarted(); // still in flight
  return metrics;
}

describe('ClusterMetrics', () => {
  it('renders the sum of every serving process and keeps an ended one’s counters but not its gauges', () => {
    const cluster = new ClusterMetrics({ keepBuckets: true });
    const [a, b] = [servingProcess(3), servingProcess(4)];
    cluster.report(1, a.takeBuckets(new Date()), a.totals());
    cluster.report(2, b.takeBuckets(new Date()), b.totals());
    let text = cluster.render();
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="2xx"} 7');
    expect(text).toContain('pier_proxy_requests_total{app="web",env="production",code="5xx"} 2');
    expect(text).toContain('pier_proxy_upstream_latency_seconds_count{app="web",env="production"} 7');
    expect(text).toContain('pier_proxy_upstream_retries_total 2');
    expect(cluster.inFlight).toBe(2);

    cluster.ended(1);
    // Its last report, arriving after its exit, is not counted a second time.
    cluster.report(1, [], a.totals());
    text = cluster.render();
    expect(text).toContain('code="2xx"} 7');
    expect(text).toContain('pier_proxy_requests_in_flight 1');
    expect(cluster.inFlight).toBe(1);
  });

  it('hands the flusher one bucket per environment and release, at the flush time, then none until new reports', () => {
    const cluster = new ClusterMetrics({ keepBuckets: true });
    const [a, b] = [servingProcess(2), servingProcess(5)];
    cluster.report(1, a.takeBuckets(new Date(1_000)), a.totals());
    cluster.report(2, b.takeBuckets(new Date(2_000)), b.totals());
    const at = new Date('2026-12-08T00:00:00Z');
    const buckets = cluster.takeBuckets(at);
    expect(buckets.map((x) => [x.releaseId, x.at.toISOString(), x.byClass[2], x.byClass[5], x.bytesIn])).toEqual([
      ['rel-1', at.toISOString(), 7, 0, 700],
      [null, at.toISOString(), 0, 2, 100],
    ]);
    expect(cluster.takeBuckets(at)).toEqual([]);
  });
});

describe('SharedHealth', () => {
  it('routes by the changes it is given, counts unknown upstreams healthy, and passes suspicions on', () => {
    const suspected: string[] = [];
    const health = new SharedHealth((id) => suspected.push(id));
    expect(health.isHealthy('new')).toBe(true);
    health.reset(['a', 'b']);
    expect([health.isHealthy('a'), health.isHealthy('b'), health.isHealthy('c')]).toEqual([false, false, true]);
    health.set('a', true);
    health.set('c', false);
    expect([health.isHealthy('a'), health.isHealthy('c')]).toEqual([true, false]);
    health.suspect('b');
    expect(suspected).toEqual(['b']);
    // An upstream that leaves the routes is forgotten: back later, it counts as healthy again.
    health.retain(['a', 'c']);
    expect(health.isHealthy('b')).toBe(true);
  });
});
