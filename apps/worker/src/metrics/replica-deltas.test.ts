import { describe, expect, it } from 'vitest';
import { replicaDelta } from './replica-deltas.ts';

const stats = (cpuNanos: number, rxBytes = 0, txBytes = 0) => ({
  cpuNanos,
  memoryBytes: 1,
  memoryLimitBytes: null,
  rxBytes,
  txBytes,
});
const previous = { at: 1000, cpuNanos: 2e9, rxBytes: 100, txBytes: 50 };

describe('replicaDelta', () => {
  it.each([
    [
      'the difference from the previous sample',
      previous,
      stats(5e9, 300, 60),
      null,
      1000,
      { cpuSeconds: 3, rxBytes: 200, txBytes: 10 },
    ],
    ['counters that went back start over', previous, stats(1e9, 40, 5), null, 1000, { cpuSeconds: 1, rxBytes: 40, txBytes: 5 }],
    [
      'first sample of a replica started since the previous pass: all of it',
      undefined,
      stats(4e9, 7, 8),
      new Date(1500),
      1000,
      { cpuSeconds: 4, rxBytes: 7, txBytes: 8 },
    ],
    [
      'first sample of a replica that ran before the previous pass: nothing',
      undefined,
      stats(4e9, 7, 8),
      new Date(500),
      1000,
      { cpuSeconds: 0, rxBytes: 0, txBytes: 0 },
    ],
    ['first pass of this worker: nothing', undefined, stats(4e9), new Date(500), null, { cpuSeconds: 0, rxBytes: 0, txBytes: 0 }],
  ])('%s', (_, before, current, startedAt, previousPassAt, expected) => {
    expect(replicaDelta(before, current, startedAt, previousPassAt)).toEqual(expected);
  });
});
