/** Upstream latency buckets, seconds (time until the upstream's response headers). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type RouteLabels = { app: string; env: string };
type UpstreamErrorKind = 'connect' | 'timeout' | 'reset';

/** Everything counted for one route (app + env). */
interface RouteSeries {
  labels: RouteLabels;
  /** Requests by status class: index 1 = 1xx … 5xx. */
  byClass: number[];
  latencyBuckets: number[];
  latencySum: number;
  latencyCount: number;
  errors: Record<UpstreamErrorKind, number>;
}

/** Route labels for requests that matched no route. */
export const NO_ROUTE: RouteLabels = Object.freeze({ app: '', env: '' });

/**
 * The proxy's Prometheus metrics, in memory, rendered in the text exposition
 * format for `/metrics`. Label sets stay small: route × status class. The
 * series of a route object is cached, so counting costs no string building.
 */
export class ProxyMetrics {
  #series = new Map<string, RouteSeries>();
  #byRoute = new WeakMap<RouteLabels, RouteSeries>();
  #retries = 0;
  #inFlight = 0;
  #tunnels = 0;
  #tunnelsRefused = 0;

  requestStarted(): void {
    this.#inFlight++;
  }

  /** A request ended (answered, failed or aborted) with this status code. */
  requestFinished(route: RouteLabels, status: number): void {
    this.#inFlight--;
    const series = this.#seriesOf(route);
    const statusClass = Math.min(5, Math.max(1, Math.floor(status / 100)));
    series.byClass[statusClass] = (series.byClass[statusClass] ?? 0) + 1;
  }

  upstreamLatency(route: RouteLabels, seconds: number): void {
    const series = this.#seriesOf(route);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] ?? 0)) bucket++;
    series.latencyBuckets[bucket] = (series.latencyBuckets[bucket] ?? 0) + 1;
    series.latencySum += seconds;
    series.latencyCount++;
  }

  upstreamError(route: RouteLabels, kind: UpstreamErrorKind): void {
    this.#seriesOf(route).errors[kind]++;
  }

  retried(): void {
    this.#retries++;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** A WebSocket handshake was accepted for forwarding: its connection is held until it closes. */
  tunnelOpened(): void {
    this.#tunnels++;
  }

  tunnelClosed(): void {
    this.#tunnels--;
  }

  /** A WebSocket handshake was refused because the cap on open tunnels was reached. */
  tunnelRefused(): void {
    this.#tunnelsRefused++;
  }

  /** WebSocket connections held now (handshakes in progress and spliced tunnels). */
  get tunnelsOpen(): number {
    return this.#tunnels;
  }

  /** Text exposition format; `extra` lines (already formatted) are appended. */
  render(extra = ''): string {
    const series = [...this.#series.values()];
    const lines: string[] = [
      '# HELP pier_proxy_requests_total Requests answered by the edge proxy, by route and status class.',
      '# TYPE pier_proxy_requests_total counter',
      ...series.flatMap((s) =>
        s.byClass.flatMap((count, i) =>
          count > 0 ? [`pier_proxy_requests_total${labels({ ...s.labels, code: `${i}xx` })} ${count}`] : [],
        ),
      ),
      '# HELP pier_proxy_requests_in_flight Requests being handled now.',
      '# TYPE pier_proxy_requests_in_flight gauge',
      `pier_proxy_requests_in_flight ${this.#inFlight}`,
      '# HELP pier_proxy_upstream_latency_seconds Time until the upstream sent its response headers.',
      '# TYPE pier_proxy_upstream_latency_seconds histogram',
      ...series.filter((s) => s.latencyCount > 0).flatMap(histogramLines),
      '# HELP pier_proxy_upstream_errors_total Upstream failures, by route and kind (connect, timeout, reset).',
      '# TYPE pier_proxy_upstream_errors_total counter',
      ...series.flatMap((s) =>
        Object.entries(s.errors).flatMap(([kind, count]) =>
          count > 0 ? [`pier_proxy_upstream_errors_total${labels({ ...s.labels, kind })} ${count}`] : [],
        ),
      ),
      '# HELP pier_proxy_upstream_retries_total Requests retried on another upstream after a connect failure.',
      '# TYPE pier_proxy_upstream_retries_total counter',
      `pier_proxy_upstream_retries_total ${this.#retries}`,
      '# HELP pier_proxy_tunnels_open WebSocket connections held open (handshakes in progress and tunnels).',
      '# TYPE pier_proxy_tunnels_open gauge',
      `pier_proxy_tunnels_open ${this.#tunnels}`,
      '# HELP pier_proxy_tunnels_refused_total WebSocket handshakes refused with 503 because the cap on open tunnels was reached.',
      '# TYPE pier_proxy_tunnels_refused_total counter',
      `pier_proxy_tunnels_refused_total ${this.#tunnelsRefused}`,
    ];
    return `${lines.join('\n')}\n${extra}`;
  }

  #seriesOf(route: RouteLabels): RouteSeries {
    let series = this.#byRoute.get(route);
    if (series) return series;
    const key = `${route.app}\0${route.env}`;
    series = this.#series.get(key);
    if (!series) {
      series = {
        labels: { app: route.app, env: route.env },
        byClass: [0, 0, 0, 0, 0, 0],
        latencyBuckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
        latencySum: 0,
        latencyCount: 0,
        errors: { connect: 0, timeout: 0, reset: 0 },
      };
      this.#series.set(key, series);
    }
    this.#byRoute.set(route, series);
    return series;
  }
}

/** Gauge lines for upstream health (1 healthy, 0 out of rotation), for `render(extra)`. */
export function upstreamHealthLines(
  reports: readonly { upstreamId: string; app: string; env: string; healthy: boolean }[],
): string {
  const lines = [
    '# HELP pier_proxy_upstream_healthy 1 when the upstream passes its health checks and is in rotation.',
    '# TYPE pier_proxy_upstream_healthy gauge',
    ...reports.map(
      (r) => `pier_proxy_upstream_healthy${labels({ app: r.app, env: r.env, upstream: r.upstreamId })} ${r.healthy ? 1 : 0}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function histogramLines(s: RouteSeries): string[] {
  let cumulative = 0;
  const lines = LATENCY_BUCKETS.map((bound, i) => {
    cumulative += s.latencyBuckets[i] ?? 0;
    return `pier_proxy_upstream_latency_seconds_bucket${labels({ ...s.labels, le: String(bound) })} ${cumulative}`;
  });
  lines.push(`pier_proxy_upstream_latency_seconds_bucket${labels({ ...s.labels, le: '+Inf' })} ${s.latencyCount}`);
  lines.push(`pier_proxy_upstream_latency_seconds_sum${labels(s.labels)} ${s.latencySum}`);
  lines.push(`pier_proxy_upstream_latency_seconds_count${labels(s.labels)} ${s.latencyCount}`);
  return lines;
}

function labels(values: Readonly<Record<string, string>>): string {
  const parts = Object.entries(values).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return `{${parts.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
