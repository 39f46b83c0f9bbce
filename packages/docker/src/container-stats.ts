import type { ReplicaStats } from '@pier/core';

/** The parts of the Engine's `GET /containers/{id}/stats` answer that Pier reads. */
export interface EngineStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number | undefined> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number } | undefined>;
}

/**
 * A container's use from one stats answer (`stream=false`, `one-shot=true`):
 * CPU nanoseconds since it started, memory without the page cache the kernel
 * can drop (the Docker CLI's figure: usage less `inactive_file` on cgroup v2,
 * `total_inactive_file` on v1), the limit (none when it is the host's memory
 * or more), and bytes over every network. Null for a container that is not
 * running (the Engine answers it with empty sections).
 */
export function toReplicaStats(stats: EngineStats, hostMemoryBytes?: number): ReplicaStats | null {
  const usage = stats.memory_stats?.usage;
  const cpu = stats.cpu_stats?.cpu_usage?.total_usage;
  if (usage === undefined || cpu === undefined) return null;
  const detail = stats.memory_stats?.stats ?? {};
  const inactive = detail.inactive_file ?? detail.total_inactive_file ?? 0;
  const limit = stats.memory_stats?.limit;
  const networks = Object.values(stats.networks ?? {});
  return {
    cpuNanos: cpu,
    memoryBytes: inactive < usage ? usage - inactive : usage,
    // Without a limit of its own the Engine reports the host's memory.
    memoryLimitBytes: limit && (hostMemoryBytes === undefined || limit < hostMemoryBytes) ? limit : null,
    rxBytes: networks.reduce((sum, n) => sum + (n?.rx_bytes ?? 0), 0),
    txBytes: networks.reduce((sum, n) => sum + (n?.tx_bytes ?? 0), 0),
  };
}
