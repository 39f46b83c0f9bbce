import type { LogStore } from '@pier/db';

/** How long a one-off container is kept for the collector after it ended, at most. */
export const LOGS_COLLECTED_TIMEOUT_MS = 5000;

/**
 * Resolves once the log collector (this worker's or another's) has read a
 * container to its end and marked it finished, or after `timeoutMs`: a
 * one-off container (release command, run) that ends within a discovery
 * interval of its start is kept that long, not removed before its lines are
 * stored.
 */
export async function logsCollected(
  logs: Pick<LogStore, 'finishedContainers'>,
  containerId: string,
  timeoutMs = LOGS_COLLECTED_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await logs.finishedContainers([containerId])).has(containerId)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
