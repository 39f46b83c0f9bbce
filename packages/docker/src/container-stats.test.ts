import { describe, expect, it } from 'vitest';
import { type EngineStats, toReplicaStats } from './container-stats.ts';

const MiB = 1024 * 1024;

describe('toReplicaStats', () => {
  const cases: { name: string; stats: EngineStats; host?: number; expected: ReturnType<typeof toReplicaStats> }[] = [
    {
      name: 'cgroup v2: usage less inactive_file, networks summed',
      stats: {
        cpu_stats: { cpu_usage: { total_usage: 5_000_000 } },
        memory_stats: { usage: 100 * MiB, limit: 128 * MiB, stats: { inactive_file: 30 * MiB } },
        networks: { eth0: { rx_bytes: 10, tx_bytes: 20 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
      },
      host: 8192 * MiB,
      expected: { cpuNanos: 5_000_000, memoryBytes: 70 * MiB, memoryLimitBytes: 128 * MiB, rxBytes: 11, txBytes: 22 },
    },
    {
      name: 'cgroup v1: usage less total_inactive_file; no network',
      stats: {
        cpu_stats: { cpu_usage: { total_usage: 1 } },
        memory_stats: { usage: 50 * MiB, limit: 64 * MiB, stats: { total_inactive_file: 10 * MiB } },
      },
      expected: { cpuNanos: 1, memoryBytes: 40 * MiB, memoryLimitBytes: 64 * MiB, rxBytes: 0, txBytes: 0 },
    },
    {
      name: 'no limit of its own: the host memory reported as the limit reads as none',
      stats: { cpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: { usage: MiB, limit: 8192 * MiB, stats: {} } },
      host: 8192 * MiB,
      expected: { cpuNanos: 0, memoryBytes: MiB, memoryLimitBytes: null, rxBytes: 0, txBytes: 0 },
    },
    {
      name: 'inactive files above usage (a race in the kernel counters): usage as it is',
      stats: { cpu_stats: { cpu_usage: { total_usage: 9 } }, memory_stats: { usage: MiB, stats: { inactive_file: 2 * MiB } } },
      expected: { cpuNanos: 9, memoryBytes: MiB, memoryLimitBytes: null, rxBytes: 0, txBytes: 0 },
    },
    { name: 'not running: empty sections', stats: { cpu_stats: { cpu_usage: {} }, memory_stats: {} }, expected: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(toReplicaStats(c.stats, c.host)).toEqual(c.expected);
    });
  }
});
