import { describe, expect, it } from 'vitest';
import {
  bucketStart,
  emptyLatency,
  type HostBucket,
  histogramQuantile,
  mergeHostBuckets,
  mergeReplicaBuckets,
  mergeRequestBuckets,
  type ReplicaBucket,
  type RequestBucket,
} from './metric-buckets.ts';

const at = (iso: string) => new Date(iso);
const latency = (counts: Record<number, number>) => emptyLatency().map((_, i) => counts[i] ?? 0);

describe('bucketStart', () => {
  it.each([
    ['2026-05-01T10:20:35.500Z', 60, '2026-05-01T10:20:00.000Z'],
    ['2026-05-01T10:20:35Z', 3600, '2026-05-01T10:00:00.000Z'],
    ['2026-05-01T10:00:00Z', 3600, '2026-05-01T10:00:00.000Z'],
    ['2026-05-01T23:59:59Z', 86_400, '2026-05-01T00:00:00.000Z'],
  ])('%s at %i s starts at %s', (time, step, start) => {
    expect(bucketStart(at(time), step).toISOString()).toBe(start);
  });
});

describe('histogramQuantile', () => {
  it.each([
    ['no requests', latency({}), 0.5, null],
    ['all in the first bucket: interpolated from 0', latency({ 0: 4 }), 0.5, 0.0005],
    ['half at ≤ 5 ms, half at ≤ 250 ms: p50 is the top of the first', latency({ 2: 5, 7: 5 }), 0.5, 0.005],
    ['p99 of the same: near the top of 100–250 ms', latency({ 2: 5, 7: 5 }), 0.99, 0.1 + 0.15 * 0.98],
    ['beyond the last bound: the highest finite bound', latency({ 14: 3 }), 0.95, 30],
  ])('%s', (_, counts, q, expected) => {
    const value = histogramQuantile(counts, q);
    if (expected === null) expect(value).toBeNull();
    else expect(value).toBeCloseTo(expected, 9);
  });
});

describe('mergeRequestBuckets', () => {
  const row = (time: string, releaseId: string | null, ok: number, slow: number): RequestBucket => ({
    environmentId: 'e',
    releaseId,
    at: at(time),
    byClass: [0, 0, ok, 0, 0, slow],
    bytesIn: ok,
    bytesOut: 10 * ok,
    latencyBuckets: latency({ 1: ok, 9: slow }),
    latencySum: slow,
  });
  it('sums counters and histograms per environment, release and wider bucket', () => {
    const merged = mergeRequestBuckets(
      [row('2026-05-01T10:01:00Z', 'r1', 2, 1), row('2026-05-01T10:59:00Z', 'r1', 3, 0), row('2026-05-01T10:30:00Z', null, 1, 0)],
      3600,
    );
    expect(merged).toEqual([
      expect.objectContaining({
        releaseId: 'r1',
        at: at('2026-05-01T10:00:00Z'),
        byClass: [0, 0, 5, 0, 0, 1],
        bytesIn: 5,
        bytesOut: 50,
      }),
      expect.objectContaining({ releaseId: null, byClass: [0, 0, 1, 0, 0, 0] }),
    ]);
    expect(merged[0]?.latencyBuckets).toEqual(latency({ 1: 5, 9: 1 }));
  });
  it('keeps separate hours apart and leaves its input as it was', () => {
    const input = [row('2026-05-01T10:01:00Z', 'r1', 1, 0), row('2026-05-01T11:01:00Z', 'r1', 1, 0)];
    expect(mergeRequestBuckets(input, 3600)).toHaveLength(2);
    mergeRequestBuckets([input[0] as RequestBucket, input[0] as RequestBucket], 3600);
    expect(input[0]?.byClass).toEqual([0, 0, 1, 0, 0, 0]);
  });
});

describe('mergeReplicaBuckets', () => {
  const row = (time: string, cpu: number, memory: number, max: number): ReplicaBucket => ({
    environmentId: 'e',
    replica: 'web-1',
    processType: 'web',
    releaseId: 'r1',
    at: at(time),
    cpuSeconds: cpu,
    memoryBytes: memory,
    memoryMaxBytes: max,
    memoryLimitBytes: 512,
    rxBytes: 1,
    txBytes: 2,
    samples: 1,
  });
  it('sums CPU, network and samples; memory is the latest, its maximum the highest', () => {
    const [merged] = mergeReplicaBuckets(
      [row('2026-05-01T10:02:00Z', 1.5, 100, 300), row('2026-05-01T10:01:00Z', 0.5, 200, 200)],
      3600,
    );
    expect(merged).toMatchObject({ cpuSeconds: 2, memoryBytes: 100, memoryMaxBytes: 300, rxBytes: 2, txBytes: 4, samples: 2 });
  });
});

describe('mergeHostBuckets', () => {
  const row = (time: string, cpuBusy: number, samples: number, free: number): HostBucket => ({
    node: 'local',
    at: at(time),
    cpuBusy,
    cpus: 2,
    memoryTotalBytes: 1000,
    memoryAvailableBytes: free,
    load1: 1,
    load5: 1,
    load15: 1,
    rootTotalBytes: 10,
    rootFreeBytes: free,
    dockerTotalBytes: null,
    dockerFreeBytes: null,
    samples,
  });
  it('averages CPU busy by samples and keeps the latest gauges', () => {
    const [merged] = mergeHostBuckets([row('2026-05-01T10:05:00Z', 0.1, 3, 7), row('2026-05-01T10:01:00Z', 0.5, 1, 9)], 3600);
    expect(merged?.cpuBusy).toBeCloseTo(0.2, 9);
    expect(merged).toMatchObject({ samples: 4, memoryAvailableBytes: 7, rootFreeBytes: 7, at: at('2026-05-01T10:00:00Z') });
  });
});
