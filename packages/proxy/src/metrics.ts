import { LATENCY_BUCKETS, type RequestBucket, type RouteUpstream } from '@pier/core';

export { LATENCY_BUCKETS };

/** What a request is counted under: the route's names (Prometheus) and, for an app's route, its environment's id (request_metrics). */
type RouteLabels = { app: string; env: string; environmentId?: string };
type UpstreamErrorKind = 'connect' | 'timeout' | 'reset';

/** Everything counted for one route (app + env), for Prometheus: totals since the process started. */
interface RouteSeries {
  labels: RouteLabels;
  /** Requests by status class: index 1 = 1xx … 5xx. */
  byClass: number[];
  latencyBuckets: number[];
  latencySum: number;
  latencyCount: number;
  bytesIn: number;
  bytesOut: number;
  errors: Record<UpstreamErrorKind, number>;
}

/**
 * What one environment's release answered since the last `takeBuckets`, for
 * request_metrics: zeroed in place when taken, so counting allocates nothing.
 */
interface ReleaseSeries {
  environmentId: string;
  releaseId: string | null;
  byClass: number[];
  latencyBuckets: number[];
  latencySum: number;
  bytesIn: number;
  bytesOut: number;
  requests: number;
  /** Taken out of the map while empty: a cache still pointing at it makes a new one. */
  retired: boolean;
}

/** Route labels for requests that matched no route. */
export const NO_ROUTE: RouteLabels = Object.freeze({ app: '', env: '' });

/**
 * What one process counted since it started, as plain data: another process
 * (the proxy's first, when several serve) sums these to render `/metrics`.
 */
export interface MetricsTotals {
  series: RouteSeries[];
  retries: number;
  inFlight: number;
  tunnels: number;
  tunnelsRefused: number;
}

export interface ProxyMetricsOptions {
  /** False: requests are not counted at all (in-flight and tunnels still are): the benchmark's baseline. Default true. */
  count?: boolean;
}

/**
 * The proxy's metrics, in memory: totals per route rendered in Prometheus's
 * text exposition format for `/metrics` (label sets stay small: route ×
 * status class), and counts per environment and release since the last
 * `takeBuckets`, which the flusher adds to request_metrics. The series of a
 * route object and of an upstream object are cached, so counting costs no
 * string building and no allocation.
 */
export class ProxyMetrics {
  #series = new Map<string, RouteSeries>();
  #byRoute = new WeakMap<RouteLabels, RouteSeries>();
  #releases = new Map<string, ReleaseSeries>();
  /** The series of requests an upstream answered (its environment and release). */
  #byUpstream = new WeakMap<RouteUpstream, ReleaseSeries>();
  /** The series of a route's requests that no upstream answered (release null). */
  #unanswered = new WeakMap<RouteLabels, ReleaseSeries>();
  readonly #count: boolean;
  #retries = 0;
  #inFlight = 0;
  #tunnels = 0;
  #tunnelsRefused = 0;

  constructor(options: ProxyMetricsOptions = {}) {
    this.#count = options.count ?? true;
  }

  requestStarted(): void {
    this.#inFlight++;
  }

  /**
   * A request ended (answered, failed or aborted) with this status code;
   * `upstream` is the replica that answered (null: none did), `bytesIn` and
   * `bytesOut` what the client connection carried for it.
   */
  requestFinished(route: RouteLabels, status: number, upstream: RouteUpstream | null = null, bytesIn = 0, bytesOut = 0): void {
    this.#inFlight--;
    if (!this.#count) return;
    const series = this.#seriesOf(route);
    const statusClass = Math.min(5, Math.max(1, Math.floor(status / 100)));
    series.byClass[statusClass] = (series.byClass[statusClass] ?? 0) + 1;
    series.bytesIn += bytesIn;
    series.bytesOut += bytesOut;
    const release = this.#releaseOf(route, upstream);
    if (!release) return;
    release.byClass[statusClass] = (release.byClass[statusClass] ?? 0) + 1;
    release.bytesIn += bytesIn;
    release.bytesOut += bytesOut;
    release.requests++;
  }

  /** Time until `upstream` sent its response headers. */
  upstreamLatency(route: RouteLabels, seconds: number, upstream: RouteUpstream | null = null): void {
    if (!this.#count) return;
    const series = this.#seriesOf(route);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] ?? 0)) bucket++;
    series.latencyBuckets[bucket] = (series.latencyBuckets[bucket] ?? 0) + 1;
    series.latencySum += seconds;
    series.latencyCount++;
    const release = this.#releaseOf(route, upstream);
    if (!release) return;
    release.latencyBuckets[bucket] = (release.latencyBuckets[bucket] ?? 0) + 1;
    release.latencySum += seconds;
  }

  /**
   * What was counted per environment and release since the last call, as
   * buckets at `at`, and zeroes it. Series with nothing new are left out;
   * series of environments no longer routed are forgotten once empty.
   */
  takeBuckets(at: Date): RequestBucket[] {
    const buckets: RequestBucket[] = [];
    for (const [key, s] of this.#releases) {
      if (s.requests === 0 && s.latencySum === 0 && !s.latencyBuckets.some((n) => n > 0)) {
        // Forgotten while empty (routes come and go): a route or upstream still in use makes it again.
        this.#releases.delete(key);
        s.retired = true;
        continue;
      }
      buckets.push({
        environmentId: s.environmentId,
        releaseId: s.releaseId,
        at,
        byClass: [...s.byClass],
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        latencyBuckets: [...s.latencyBuckets],
        latencySum: s.latencySum,
      });
      s.byClass.fill(0);
      s.latencyBuckets.fill(0);
      s.latencySum = 0;
      s.bytesIn = 0;
      s.bytesOut = 0;
      s.requests = 0;
    }
    return buckets;
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

  /** Everything counted so far, as plain data (a copy). */
  totals(): MetricsTotals {
    return {
      series: [...this.#series.values()].map((s) => ({
        ...s,
        byClass: [...s.byClass],
        latencyBuckets: [...s.latencyBuckets],
        errors: { ...s.errors },
      })),
      retries: this.#retries,
      inFlight: this.#inFlight,
      tunnels: this.#tunnels,
      tunnelsRefused: this.#tunnelsRefused,
    };
  }

  /** Adds another process's totals to these (for rendering the sum). */
  absorb(totals: MetricsTotals): void {
    for (const other of totals.series) {
      const series = this.#seriesOf(other.labels);
      addInto(series.byClass, other.byClass);
      addInto(series.latencyBuckets, other.latencyBuckets);
      series.latencySum += other.latencySum;
      series.latencyCount += other.latencyCount;
      series.bytesIn += other.bytesIn;
      series.bytesOut += other.bytesOut;
      for (const kind of Object.keys(series.errors) as UpstreamErrorKind[]) series.errors[kind] += other.errors[kind] ?? 0;
    }
    this.#retries += totals.retries;
    this.#inFlight += totals.inFlight;
    this.#tunnels += totals.tunnels;
    this.#tunnelsRefused += totals.tunnelsRefused;
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
      '# HELP pier_proxy_received_bytes_total Bytes received from clients (requests with their headers), by route.',
      '# TYPE pier_proxy_received_bytes_total counter',
      ...series.flatMap((s) => (s.bytesIn > 0 ? [`pier_proxy_received_bytes_total${labels(s.labels)} ${s.bytesIn}`] : [])),
      '# HELP pier_proxy_sent_bytes_total Bytes sent to clients (responses with their headers), by route.',
      '# TYPE pier_proxy_sent_bytes_total counter',
      ...series.flatMap((s) => (s.bytesOut > 0 ? [`pier_proxy_sent_bytes_total${labels(s.labels)} ${s.bytesOut}`] : [])),
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
        bytesIn: 0,
        bytesOut: 0,
        errors: { connect: 0, timeout: 0, reset: 0 },
      };
      this.#series.set(key, series);
    }
    this.#byRoute.set(route, series);
    return series;
  }

  /** The release series of `upstream` (or, with none, of the route's unanswered requests); none for a route without environment. */
  #releaseOf(route: RouteLabels, upstream: RouteUpstream | null): ReleaseSeries | undefined {
    const environmentId = route.environmentId;
    if (environmentId === undefined) return undefined;
    const cached = upstream ? this.#byUpstream.get(upstream) : this.#unanswered.get(route);
    if (cached && !cached.retired) return cached;
    const releaseId = upstream?.releaseId ?? null;
    const key = releaseKey(environmentId, releaseId);
    let series = this.#releases.get(key);
    if (!series) {
      series = {
        environmentId,
        releaseId,
        byClass: [0, 0, 0, 0, 0, 0],
        latencyBuckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
        latencySum: 0,
        bytesIn: 0,
        bytesOut: 0,
        requests: 0,
        retired: false,
      };
      this.#releases.set(key, series);
    }
    if (upstream) this.#byUpstream.set(upstream, series);
    else this.#unanswered.set(route, series);
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

function addInto(target: number[], values: readonly number[]): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] ?? 0) + (values[i] ?? 0);
}

function releaseKey(environmentId: string, releaseId: string | null): string {
  return `${environmentId}\0${releaseId ?? ''}`;
}

function labels(values: Readonly<Record<string, string>>): string {
  const parts = Object.entries(values).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return `{${parts.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
