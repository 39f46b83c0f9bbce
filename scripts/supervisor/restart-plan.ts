/**
 * When the supervisor of `npm run up` starts a process again after it exited:
 * pure, so the backoff is a table test and the supervisor only acts on it.
 */

export interface RestartBackoff {
  /** Delay before the first restart of a streak. */
  firstDelayMs: number;
  /** The delay doubles per restart in a row up to this. */
  maxDelayMs: number;
  /** A process that ran this long before exiting starts a new streak: its crash is not part of a loop. */
  quietMs: number;
}

/** 1 s, 2 s, 4 s … 30 s; a minute of running resets it. */
export const RESTART_BACKOFF: RestartBackoff = { firstDelayMs: 1000, maxDelayMs: 30_000, quietMs: 60_000 };

/** Exit status of a process that found its configuration invalid (packages/config): starting it again cannot help. */
export const EX_CONFIG = 78;

export interface RestartPlan {
  /** Restarts in a row, this one included. */
  streak: number;
  delayMs: number;
}

/** The next restart of a process that exited after running `ranMs`, `streak` restarts in a row before. */
export function planRestart(streak: number, ranMs: number, backoff: RestartBackoff = RESTART_BACKOFF): RestartPlan {
  const next = ranMs >= backoff.quietMs ? 1 : streak + 1;
  // 2 ** 30 already dwarfs any cap; the exponent is bounded so a long streak never overflows to Infinity.
  const delayMs = Math.min(backoff.firstDelayMs * 2 ** Math.min(next - 1, 30), backoff.maxDelayMs);
  return { streak: next, delayMs };
}

/** How a process ended, for a log line: "was killed by SIGKILL", "exited with code 1". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by ${signal}`;
  return `exited with code ${code ?? 'unknown'}`;
}

/** A duration for a log line: "850 ms", "12.3 s", "4 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}
