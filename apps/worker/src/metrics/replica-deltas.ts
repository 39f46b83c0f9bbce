import type { ReplicaStats } from '@pier/core';

/** A replica's cumulative counters as last sampled, and when. */
export interface CumulativeSample {
  at: number;
  cpuNanos: number;
  rxBytes: number;
  txBytes: number;
}

/** What a replica used since its previous sample. */
export interface ReplicaDelta {
  cpuSeconds: number;
  rxBytes: number;
  txBytes: number;
}

/**
 * What a replica used between two samples of its cumulative counters. The
 * first sample of a replica that started since the previous pass counts
 * everything since its start (the counters began at zero then); the first
 * sample of one that was already running (a worker that just started or
 * took the lease over) counts nothing, as its counters hold time nobody
 * measured. Counters that went back (a replica restarted under the same
 * name) start over from zero.
 */
export function replicaDelta(
  previous: CumulativeSample | undefined,
  current: ReplicaStats,
  startedAt: Date | null,
  previousPassAt: number | null,
): ReplicaDelta {
  if (!previous) {
    const startedSince = startedAt !== null && previousPassAt !== null && startedAt.getTime() >= previousPassAt;
    if (!startedSince) return { cpuSeconds: 0, rxBytes: 0, txBytes: 0 };
    return { cpuSeconds: current.cpuNanos / 1e9, rxBytes: current.rxBytes, txBytes: current.txBytes };
  }
  const since = (now: number, before: number) => (now >= before ? now - before : now);
  return {
    cpuSeconds: since(current.cpuNanos, previous.cpuNanos) / 1e9,
    rxBytes: since(current.rxBytes, previous.rxBytes),
    txBytes: since(current.txBytes, previous.txBytes),
  };
}
