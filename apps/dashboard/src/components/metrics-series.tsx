import type { EnvironmentMetrics } from '../types-observe.ts';

/** An answer of GET …/metrics as columns on one time axis (seconds), one value per bucket, null where none was measured. */
export interface MetricColumns {
  x: number[];
  perSecond: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  /** Share of 5xx, in percent. */
  errorPercent: (number | null)[];
  requests: number;
  errors: number;
  cpu: { type: string; values: (number | null)[] }[];
  memory: { type: string; values: (number | null)[] }[];
}

const toMs = (seconds: number | null) => (seconds === null ? null : seconds * 1000);

/** Buckets from `since` to `until`: requests missing from a bucket are 0 requests; replica use missing is a gap. */
export function columns(m: EnvironmentMetrics): MetricColumns {
  const since = Date.parse(m.since);
  const stepMs = m.step * 1000;
  const count = Math.max(1, Math.ceil((Date.parse(m.until) - since) / stepMs));
  const x = Array.from({ length: count }, (_, i) => (since + i * stepMs) / 1000);
  const slot = (at: string) => {
    const i = Math.round((Date.parse(at) - since) / stepMs);
    return i >= 0 && i < count ? i : -1;
  };
  const empty = () => new Array<number | null>(count).fill(null);
  const out: MetricColumns = {
    x,
    perSecond: new Array<number>(count).fill(0),
    p50: empty(),
    p95: empty(),
    p99: empty(),
    errorPercent: empty(),
    requests: 0,
    errors: 0,
    cpu: [],
    memory: [],
  };
  for (const p of m.requests) {
    const i = slot(p.at);
    if (i < 0) continue;
    out.perSecond[i] = p.perSecond;
    out.p50[i] = toMs(p.latency.p50);
    out.p95[i] = toMs(p.latency.p95);
    out.p99[i] = toMs(p.latency.p99);
    out.errorPercent[i] = p.errorRate === null ? null : p.errorRate * 100;
    out.requests += p.requests;
    out.errors += p.byClass['5xx'] ?? 0;
  }
  for (const process of m.processes) {
    const cpu = empty();
    const memory = empty();
    for (const replica of process.replicas) {
      for (const p of replica.points) {
        const i = slot(p.at);
        if (i < 0) continue;
        // Every replica of the type together: replicas change names with each release.
        cpu[i] = (cpu[i] ?? 0) + p.cpuCores;
        memory[i] = (memory[i] ?? 0) + p.memoryBytes;
      }
    }
    if (cpu.some((v) => v !== null)) {
      out.cpu.push({ type: process.type, values: cpu });
      out.memory.push({ type: process.type, values: memory });
    }
  }
  return out;
}

/** The newest value that is not null, and the highest. */
export function latestAndPeak(values: readonly (number | null)[]): { latest: number | null; peak: number | null } {
  let latest: number | null = null;
  let peak: number | null = null;
  for (const v of values) {
    if (v === null) continue;
    latest = v;
    peak = peak === null ? v : Math.max(peak, v);
  }
  return { latest, peak };
}

/** A number with about three significant digits: 0.0123, 1.23, 123, 12300. */
export function short(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(abs >= 1 ? 3 : 2)));
}

export const rate = (v: number) => `${short(v)}/s`;
export const millis = (v: number) => (v >= 1000 ? `${short(v / 1000)} s` : `${short(v)} ms`);
export const percent = (v: number) => `${short(v)}%`;
export const cores = (v: number) => `${short(v)} cores`;

export function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = v;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${short(value)} ${units[unit]}`;
}
