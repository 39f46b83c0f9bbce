import type { HealthSettings } from '@pier/db';

export interface HealthGateResult {
  healthy: boolean;
  /** The last few probe results, e.g. `503 Service Unavailable` or `connect ECONNREFUSED`, for a failure reason. */
  responses: string[];
  /** Why it gave up, when it did. */
  reason?: string;
}

export interface HealthGateOptions {
  /** Where the replica answers, `http://<host>:<port><path>` of the address its runtime reported. */
  url: string;
  settings: HealthSettings;
  /** Checked between probes: a container that exited will never get healthy. */
  isRunning: () => Promise<boolean>;
  signal?: AbortSignal;
}

/**
 * Polls a replica from outside its container (no curl needed in the image)
 * until `healthyThreshold` probes in a row answer 2xx/3xx, or the deadline
 * passes, or the container stops.
 */
export async function waitUntilHealthy(options: HealthGateOptions): Promise<HealthGateResult> {
  const { settings } = options;
  const deadline = Date.now() + settings.deadlineMs;
  const responses: string[] = [];
  let streak = 0;
  while (Date.now() < deadline && !options.signal?.aborted) {
    const result = await probe(options.url, settings.timeoutMs);
    responses.push(result.detail);
    if (responses.length > 5) responses.shift();
    streak = result.ok ? streak + 1 : 0;
    if (streak >= settings.healthyThreshold) return { healthy: true, responses };
    if (!(await options.isRunning())) return { healthy: false, responses, reason: 'the container exited' };
    await new Promise((resolve) => setTimeout(resolve, settings.intervalMs));
  }
  const why = options.signal?.aborted
    ? 'the deploy was stopped'
    : `not healthy within ${Math.round(settings.deadlineMs / 1000)} s`;
  return { healthy: false, responses, reason: why };
}

async function probe(url: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel().catch(() => {});
    return { ok: res.status >= 200 && res.status < 400, detail: `${res.status} ${res.statusText}`.trim() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, detail: cause ?? (err as Error).name ?? 'error' };
  }
}
