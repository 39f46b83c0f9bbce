import { ValidationError } from './errors.ts';
import { COARSE_RETENTION_DAYS, COARSE_STEP, FINE_RETENTION_DAYS, FINE_STEP } from './metric-buckets.ts';

/** A time range of metrics, as asked for (`?since=&until=&step=`). */
export interface MetricsQueryInput {
  since?: string;
  until?: string;
  step?: string | number;
}

/** The range and step to answer with: `since` and `until` aligned on `step`. */
export interface MetricsRange {
  since: Date;
  until: Date;
  step: number;
}

export const MIN_METRICS_STEP = FINE_STEP;
export const MAX_METRICS_STEP = 86_400;
/** Most buckets one answer holds. */
export const MAX_METRICS_POINTS = 2_000;
const DEFAULT_SINCE = '1h';
/** Without `step`, about this many buckets. */
const DEFAULT_POINTS = 120;

const RELATIVE = /^(\d{1,6})([smhd])$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A time: ISO 8601 (`2026-05-01T12:00:00Z`) or a duration before `now`
 * (`90s`, `15m`, `24h`, `7d`). Anything else is refused naming `field`.
 */
export function parseMetricsTime(value: string, now: Date, field: string): Date {
  const relative = RELATIVE.exec(value.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (UNIT_SECONDS[relative[2] as string] ?? 0) * 1000);
  // Only full ISO dates: Date.parse alone accepts too much ("1", "May 1").
  const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ValidationError(`${field}: must be an ISO 8601 time or a duration ago such as 1h, 24h or 7d`, field);
  }
  return new Date(ms);
}

/**
 * The range a metrics request asks for, checked: `since` before `until`, no
 * older than what is kept, `step` whole seconds between 60 and 86,400 and
 * rounded up to whole hours when the range reaches past the week kept per
 * minute, and at most MAX_METRICS_POINTS buckets. Without `step`, one that
 * gives about 120 buckets.
 */
export function parseMetricsRange(input: MetricsQueryInput, now: Date): MetricsRange {
  const since = parseMetricsTime(input.since ?? DEFAULT_SINCE, now, 'since');
  const until = input.until === undefined ? now : parseMetricsTime(input.until, now, 'until');
  if (since.getTime() >= until.getTime()) throw new ValidationError('since: must be before until', 'since');
  if (now.getTime() - since.getTime() > COARSE_RETENTION_DAYS * 86_400_000) {
    throw new ValidationError(`since: metrics are kept for ${COARSE_RETENTION_DAYS} days`, 'since');
  }
  const seconds = (until.getTime() - since.getTime()) / 1000;
  let step = input.step === undefined || input.step === '' ? defaultStep(seconds) : Number(input.step);
  if (!Number.isInteger(step)) throw new ValidationError('step: must be a whole number of seconds', 'step');
  if (step < MIN_METRICS_STEP || step > MAX_METRICS_STEP) {
    throw new ValidationError(`step: must be between ${MIN_METRICS_STEP} and ${MAX_METRICS_STEP} seconds`, 'step');
  }
  // Beyond a week only hourly buckets are kept: a finer step would show gaps.
  if (now.getTime() - since.getTime() > FINE_RETENTION_DAYS * 86_400_000) step = roundUp(step, COARSE_STEP);
  else step = roundUp(step, FINE_STEP);
  const alignedSince = Math.floor(since.getTime() / (step * 1000)) * step * 1000;
  const points = Math.ceil((until.getTime() - alignedSince) / (step * 1000));
  if (points > MAX_METRICS_POINTS) {
    throw new ValidationError(
      `step: ${points} buckets of ${step} s is more than ${MAX_METRICS_POINTS}: ask for a wider step or a shorter range`,
      'step',
    );
  }
  return { since: new Date(alignedSince), until, step };
}

function defaultStep(seconds: number): number {
  return Math.min(MAX_METRICS_STEP, Math.max(MIN_METRICS_STEP, roundUp(Math.ceil(seconds / DEFAULT_POINTS), FINE_STEP)));
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
