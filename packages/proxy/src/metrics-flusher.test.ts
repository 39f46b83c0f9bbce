import type { RequestBucket, RequestMetricsSink } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from './metrics.ts';
import { MetricsFlusher } from './metrics-flusher.ts';

/** A sink that records what it was given, and fails while told to. */
class RecordingSink implements RequestMetricsSink {
  failing = false;
  readonly added: RequestBucket[][] = [];
  async add(buckets: readonly RequestBucket[]): Promise<void> {
    if (this.failing) throw new Error('connection refused');
    this.added.push([...buckets]);
  }
}

const web = { app: 'web', env: 'production', environmentId: 'env-1' };
const upstream = (releaseId: string) => ({ id: `u-${releaseId}`, host: '127.0.0.1', port: 1, releaseId });

function count(metrics: ProxyMetrics, status: number, releaseId: string, times = 1): void {
  const answered = upstream(releaseId);
  for (let i = 0; i < times; i++) {
    metrics.requestStarted();
    metrics.requestFinished(web, status, answered);
  }
}

describe('MetricsFlusher', () => {
  it("adds each interval's counts as one-minute buckets at the minute of the flush", async () => {
    const metrics = new ProxyMetrics();
    const sink = new RecordingSink();
    const flusher = new MetricsFlusher({ metrics, sink, intervalMs: 60_000, now: () => new Date('2026-05-01T10:20:35Z') });
    count(metrics, 200, 'rel-1', 3);
    await flusher.flush();
    expect(sink.added).toEqual([
      [expect.objectContaining({ at: new Date('2026-05-01T10:20:00Z'), byClass: [0, 0, 3, 0, 0, 0] })],
    ]);
    await flusher.flush(); // nothing new: nothing sent
    expect(sink.added).toHaveLength(1);
  });

  it('keeps what a failed flush had and sends it merged with the next, within its bound', async () => {
    const metrics = new ProxyMetrics();
    const sink = new RecordingSink();
    let minute = 0;
    const now = () => new Date(Date.UTC(2026, 4, 1, 10, minute));
    const flusher = new MetricsFlusher({ metrics, sink, intervalMs: 60_000, now, maxPending: 2 });
    sink.failing = true;
    count(metrics, 500, 'rel-1', 2);
    await expect(flusher.flush()).rejects.toThrow('connection refused');
    count(metrics, 500, 'rel-1', 1);
    await expect(flusher.flush()).rejects.toThrow('connection refused');
    expect(flusher.pending).toBe(1); // the same minute and release: merged
    minute = 1;
    count(metrics, 200, 'rel-1');
    await expect(flusher.flush()).rejects.toThrow();
    expect([flusher.pending, flusher.dropped]).toEqual([2, 0]);
    minute = 2;
    count(metrics, 200, 'rel-2');
    await expect(flusher.flush()).rejects.toThrow();
    expect(flusher.pending).toBe(2);
    expect(flusher.dropped).toBe(1); // the oldest minute went
    sink.failing = false;
    await flusher.flush();
    expect(sink.added[0]?.map((b) => [b.at.getUTCMinutes(), b.releaseId, b.byClass[2]])).toEqual([
      [1, 'rel-1', 1],
      [2, 'rel-2', 1],
    ]);
    expect(flusher.pending).toBe(0);
  });
});
