/**
 * Metrics are kept per time bucket: `step` seconds starting at `at` (60 for a
 * week, then 3600). The proxies, the worker's collector and the api all agree
 * on these shapes; merging buckets (downsampling, or answering a wider step
 * than what is stored) is done here, as pure functions.
 */

/** Upstream latency buckets, seconds (time until the upstream's response headers); counts have one more entry, +Inf. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The steps stored: one minute for `FINE_RETENTION_DAYS`, then one hour for `COARSE_RETENTION_DAYS`. */
export const FINE_STEP = 60;
export const COARSE_STEP = 3600;
export const FINE_RETENTION_DAYS = 7;
export const COARSE_RETENTION_DAYS = 90;

/** Requests one environment's release answered in one bucket (`request_metrics`). */
export interface RequestBucket {
  environmentId: string;
  /** The release of the replica that answered; null when none did (no upstream). */
  releaseId: string | null;
  at: Date;
  /** Requests by status class: index 1 = 1xx … 5 = 5xx (index 0 unused). */
  byClass: number[];
  bytesIn: number;
  bytesOut: number;
  /** Counts per LATENCY_BUCKETS entry, then +Inf. */
  latencyBuckets: number[];
  latencySum: number;
}

/** One replica's use in one bucket (`replica_metrics`). */
export interface ReplicaBucket {
  environmentId: string;
  replica: string;
  processType: string;
  releaseId: string | null;
  at: Date;
  cpuSeconds: number;
  memoryBytes: number;
  memoryMaxBytes: number;
  memoryLimitBytes: number | null;
  rxBytes: number;
  txBytes: number;
  samples: number;
}

/** The host in one bucket (`host_metrics`). */
export interface HostBucket {
  node: string;
  at: Date;
  cpuBusy: number;
  cpus: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  load1: number;
  load5: number;
  load15: number;
  rootTotalBytes: number;
  rootFreeBytes: number;
  dockerTotalBytes: number | null;
  dockerFreeBytes: number | null;
  samples: number;
}

/** Restarts of one process type and release in one bucket (`restart_metrics`). */
export interface RestartBucket {
  environmentId: string;
  processType: string;
  releaseId: string | null;
  at: Date;
  restarts: number;
  oomKills: number;
}

/** The start of the `step`-second bucket that holds `at` (buckets are aligned on the epoch, so on minutes, hours, days in UTC). */
export function bucketStart(at: Date, step: number): Date {
  const ms = step * 1000;
  return new Date(Math.floor(at.getTime() / ms) * ms);
}

/** An empty latency histogram. */
export function emptyLatency(): number[] {
  return new Array(LATENCY_BUCKETS.length + 1).fill(0);
}

/** `into` plus `add`, element by element (histograms of the same buckets; a shorter one counts as zeros). */
export function addCounts(into: readonly number[], add: readonly number[]): number[] {
  const length = Math.max(into.length, add.length);
  return Array.from({ length }, (_, i) => (into[i] ?? 0) + (add[i] ?? 0));
}

/**
 * Request buckets merged into `step`-second buckets, per environment and
 * release: counters and histograms summed. Sorted by time.
 */
export function mergeRequestBuckets(rows: readonly RequestBucket[], step: number): RequestBucket[] {
  const merged = new Map<string, RequestBucket>();
  for (const row of rows) {
    const at = bucketStart(row.at, step);
    const key = `${row.environmentId}\0${row.releaseId ?? ''}\0${at.getTime()}`;
    const into = merged.get(key);
    if (!into) {
      merged.set(key, { ...row, at, byClass: [...row.byClass], latencyBuckets: [...row.latencyBuckets] });
      continue;
    }
    into.byClass = addCounts(into.byClass, row.byClass);
    into.latencyBuckets = addCounts(into.latencyBuckets, row.latencyBuckets);
    into.bytesIn += row.bytesIn;
    into.bytesOut += row.bytesOut;
    into.latencySum += row.latencySum;
  }
  return [...merged.values()].sort(byTime);
}

/**
 * Replica buckets merged into `step`-second buckets, per replica: CPU and
 * network summed, memory's maximum the highest, memory and its limit the
 * latest bucket's, samples summed.
 */
export function mergeReplicaBuckets(rows: readonly ReplicaBucket[], step: number): ReplicaBucket[] {
  const merged = new Map<string, { bucket: ReplicaBucket; latest: number }>();
  for (const row of [...rows].sort(byTime)) {
    const at = bucketStart(row.at, step);
    const key = `${row.environmentId}\0${row.replica}\0${at.getTime()}`;
    const into = merged.get(key);
    if (!into) {
      merged.set(key, { bucket: { ...row, at }, latest: row.at.getTime() });
      continue;
    }
    const b = into.bucket;
    b.cpuSeconds += row.cpuSeconds;
    b.rxBytes += row.rxBytes;
    b.txBytes += row.txBytes;
    b.samples += row.samples;
    b.memoryMaxBytes = Math.max(b.memoryMaxBytes, row.memoryMaxBytes);
    // Rows arrive in time order: the later one's gauges win.
    b.memoryBytes = row.memoryBytes;
    b.memoryLimitBytes = row.memoryLimitBytes ?? b.memoryLimitBytes;
    b.releaseId = row.releaseId ?? b.releaseId;
  }
  return [...merged.values()].map((m) => m.bucket).sort(byTime);
}

/**
 * Host buckets merged into `step`-second buckets, per node: CPU busy is the
 * average weighted by samples, gauges (memory, load, disks) the latest
 * bucket's, samples summed.
 */
export function mergeHostBuckets(rows: readonly HostBucket[], step: number): HostBucket[] {
  const merged = new Map<string, HostBucket>();
  for (const row of [...rows].sort(byTime)) {
    const at = bucketStart(row.at, step);
    const key = `${row.node}\0${at.getTime()}`;
    const into = merged.get(key);
    if (!into) {
      merged.set(key, { ...row, at });
      continue;
    }
    const samples = into.samples + row.samples;
    const cpuBusy = samples > 0 ? (into.cpuBusy * into.samples + row.cpuBusy * row.samples) / samples : row.cpuBusy;
    merged.set(key, { ...row, at, cpuBusy, samples });
  }
  return [...merged.values()].sort(byTime);
}

/** Restart buckets merged into `step`-second buckets, per environment, process type and release: counts summed. */
export function mergeRestartBuckets(rows: readonly RestartBucket[], step: number): RestartBucket[] {
  const merged = new Map<string, RestartBucket>();
  for (const row of rows) {
    const at = bucketStart(row.at, step);
    const key = `${row.environmentId}\0${row.processType}\0${row.releaseId ?? ''}\0${at.getTime()}`;
    const into = merged.get(key);
    if (!into) merged.set(key, { ...row, at });
    else {
      into.restarts += row.restarts;
      into.oomKills += row.oomKills;
    }
  }
  return [...merged.values()].sort(byTime);
}

/**
 * The latency below which a share `q` (0–1) of the requests in `counts`
 * (LATENCY_BUCKETS, then +Inf) were answered, interpolated linearly inside
 * its bucket as Prometheus's `histogram_quantile` does; a quantile in the
 * +Inf bucket is the highest finite bound. Null with no requests.
 */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] ?? 0;
    if (count > 0 && below + count >= rank) {
      const upper = LATENCY_BUCKETS[i];
      if (upper === undefined) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1] ?? null;
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS[i - 1] ?? 0);
      return lower + (upper - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1] ?? null;
}

function byTime(a: { at: Date }, b: { at: Date }): number {
  return a.at.getTime() - b.at.getTime();
}
