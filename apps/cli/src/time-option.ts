import { usageError } from './cli-error.ts';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The ISO time of `--since`/`--until`: an ISO date or time as given (a time
 * without an offset is local), or `30s`, `15m`, `2h`, `3d` before `now`. A
 * bad value is a usage error naming the option.
 */
export function timeOption(option: string, text: string, now = Date.now()): string {
  const relative = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (relative) {
    const [, amount, unit] = relative as unknown as [string, string, keyof typeof UNIT_MS];
    return new Date(now - Number(amount) * UNIT_MS[unit]).toISOString();
  }
  const time = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(text.trim())
    ? Date.parse(text.trim())
    : Number.NaN;
  if (Number.isNaN(time)) {
    throw usageError(`--${option}: must be a time like 2026-05-01T12:00:00Z, or how long ago: 30s, 15m, 2h, 3d`);
  }
  return new Date(time).toISOString();
}
