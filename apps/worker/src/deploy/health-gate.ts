import { type Address, nothingListensReason, type SettingSource } from '@pier/core';
import type { HealthSettings } from '@pier/db';
import { probeUpstream } from '@pier/proxy';

export interface HealthGateResult {
  healthy: boolean;
  /** The last few probe results, e.g. `503 Service Unavailable` or `ECONNREFUSED`, for a failure reason. */
  responses: string[];
  /** Why it gave up, when it did. */
  reason?: string;
}

/** How a replica's container is, between probes. */
export interface ContainerState {
  running: boolean;
  exitCode: number | null;
  /** The kernel ended it for going past its memory limit. */
  oomKilled: boolean;
  /** Its memory limit in MiB, for the reason; null when not known. */
  memoryMb: number | null;
}

export interface HealthGateOptions {
  /** Where the replica answers: the address its runtime reported. */
  address: Address;
  settings: HealthSettings;
  /** Sent as `Host`: the environment's own generated hostname, for apps that check it. */
  hostname: string;
  /** What the app is expected to listen on, where that came from, and whose settings change it, for the reason. */
  expected: { port: number; source: SettingSource | undefined; app: string; env: string };
  /** Nothing listening (every probe refused) for this long fails the gate before its deadline. */
  startPeriodMs: number;
  /** Checked between probes: a container that exited will never get healthy. */
  container: () => Promise<ContainerState>;
  signal?: AbortSignal;
}

/**
 * Probes a replica from outside its container (no curl needed in the image),
 * as the edge proxy will once it serves, until `healthyThreshold` probes in a
 * row pass, or the deadline passes. It gives up early when the container
 * exits, or when nothing has listened on the port for the whole start period.
 */
export async function waitUntilHealthy(options: HealthGateOptions): Promise<HealthGateResult> {
  const { settings } = options;
  const started = Date.now();
  const deadline = started + settings.deadlineMs;
  const startPeriodEnd = started + Math.min(options.startPeriodMs, settings.deadlineMs);
  const responses: string[] = [];
  let streak = 0;
  let answered = false;
  while (Date.now() < deadline && !options.signal?.aborted) {
    const result = await probeUpstream(options.address, {
      check: settings.path,
      hostname: options.hostname,
      timeoutMs: settings.timeoutMs,
      signal: options.signal,
    });
    responses.push(result.detail);
    if (responses.length > 5) responses.shift();
    streak = result.ok ? streak + 1 : 0;
    answered ||= !result.refused;
    if (streak >= settings.healthyThreshold) return { healthy: true, responses };
    const container = await options.container();
    if (!container.running) return { healthy: false, responses, reason: exitedReason(container) };
    if (!answered && Date.now() >= startPeriodEnd) {
      const seconds = Math.round((Date.now() - started) / 1000);
      return { healthy: false, responses, reason: nothingListensReason({ ...options.expected, seconds }) };
    }
    await new Promise((resolve) => setTimeout(resolve, settings.intervalMs));
  }
  const why = options.signal?.aborted
    ? 'the deploy was stopped'
    : `not healthy within ${Math.round(settings.deadlineMs / 1000)} s`;
  return { healthy: false, responses, reason: why };
}

/**
 * `the container ran out of memory at 64 MiB: raise memoryMb` when the kernel
 * killed it for its limit, else `the container exited with code 1`, or
 * without a code when the runtime did not say.
 */
export function exitedReason(container: Pick<ContainerState, 'exitCode' | 'oomKilled' | 'memoryMb'>): string {
  if (container.oomKilled) {
    const limit = container.memoryMb === null ? '' : ` at ${container.memoryMb} MiB`;
    return `the container ran out of memory${limit}: raise memoryMb`;
  }
  return container.exitCode === null ? 'the container exited' : `the container exited with code ${container.exitCode}`;
}
