/**
 * Automatic rollback on an error spike: for a window after a rollout made a
 * release live, its share of 5xx answers and its restarts are compared with
 * the release it replaced; a release clearly worse than that one is rolled
 * back. Pure: the worker's release watcher gathers the figures, this decides.
 */

/** An environment's settings, as stored (null or absent: the default). */
export interface AutoRollbackSettingsInput {
  enabled?: boolean | null;
  windowSeconds?: number | null;
  errorRate?: number | null;
  minRequests?: number | null;
  restarts?: number | null;
}

/** The settings in force. */
export interface AutoRollbackSettings {
  enabled: boolean;
  /** How long after going live a release is watched. */
  windowSeconds: number;
  /** Share of 5xx answers (0–1) from which a release may be rolled back. */
  errorRate: number;
  /** Requests a release must have answered before its share of errors is judged. */
  minRequests: number;
  /** Restarts within the window from which a release may be rolled back. */
  restarts: number;
}

/** Conservative defaults, on: a release must be plainly broken, never merely noisy, to be rolled back. */
export const AUTO_ROLLBACK_DEFAULTS: AutoRollbackSettings = {
  enabled: true,
  windowSeconds: 300,
  errorRate: 0.25,
  minRequests: 20,
  restarts: 3,
};

/** What the API accepts for each setting (inclusive). */
export const AUTO_ROLLBACK_BOUNDS = {
  windowSeconds: { min: 10, max: 3600 },
  errorRate: { min: 0.01, max: 1 },
  minRequests: { min: 1, max: 1_000_000 },
  restarts: { min: 1, max: 1000 },
} as const;

/**
 * How much worse than the previous release a share of errors must be: at
 * least this many points above it, and at least twice it. A release that was
 * already failing a third of its requests is not rolled back to.
 */
export const ERROR_SHARE_MARGIN = 0.1;

/** What one release did: requests answered (all status classes), of which 5xx, and restarts. */
export interface ReleaseFigures {
  requests: number;
  errors: number;
  restarts: number;
}

export interface WatchedRelease {
  version: number;
  /** When it went live (the watch's start) and when the watch ends. */
  startedAt: Date;
  until: Date;
  figures: ReleaseFigures;
}

export interface ErrorSpikeInput {
  settings: AutoRollbackSettings;
  release: WatchedRelease;
  /** The release it replaced, over a comparable window before the switch. */
  previous: { version: number; figures: ReleaseFigures };
  now: Date;
}

export type ErrorSpikeDecision =
  | { kind: 'watching' }
  | { kind: 'passed' }
  | { kind: 'roll_back'; cause: 'errors' | 'restarts'; reason: string };

/** The settings in force: each null column takes its default. */
export function effectiveAutoRollback(stored: AutoRollbackSettingsInput | null | undefined): AutoRollbackSettings {
  return {
    enabled: stored?.enabled ?? AUTO_ROLLBACK_DEFAULTS.enabled,
    windowSeconds: stored?.windowSeconds ?? AUTO_ROLLBACK_DEFAULTS.windowSeconds,
    errorRate: stored?.errorRate ?? AUTO_ROLLBACK_DEFAULTS.errorRate,
    minRequests: stored?.minRequests ?? AUTO_ROLLBACK_DEFAULTS.minRequests,
    restarts: stored?.restarts ?? AUTO_ROLLBACK_DEFAULTS.restarts,
  };
}

/**
 * Keep watching, passed (the window is over and nothing was wrong), or roll
 * back with a sentence saying why. Errors are judged only from `minRequests`
 * requests on, and only when clearly worse than the previous release's share
 * (`ERROR_SHARE_MARGIN`); restarts only when more than the previous release
 * had. A disabled environment's watch passes.
 */
export function decideErrorSpike(input: ErrorSpikeInput): ErrorSpikeDecision {
  const { settings, release, previous, now } = input;
  if (!settings.enabled) return { kind: 'passed' };
  const errors = errorSpike(input);
  if (errors) return { kind: 'roll_back', cause: 'errors', reason: errors };
  const restarts = release.figures.restarts;
  if (restarts >= settings.restarts && restarts > previous.figures.restarts) {
    return {
      kind: 'roll_back',
      cause: 'restarts',
      reason:
        `release v${release.version} restarted ${times(restarts)} within ${since(release.startedAt, now)} ` +
        `of going live; v${previous.version} restarted ${times(previous.figures.restarts)} before it`,
    };
  }
  return now.getTime() >= release.until.getTime() ? { kind: 'passed' } : { kind: 'watching' };
}

/** The reason when the share of 5xx is a spike, else null. */
function errorSpike({ settings, release, previous, now }: ErrorSpikeInput): string | null {
  const { requests, errors } = release.figures;
  if (requests < settings.minRequests || requests === 0) return null;
  const share = errors / requests;
  const before = previous.figures.requests > 0 ? previous.figures.errors / previous.figures.requests : 0;
  if (share < settings.errorRate) return null;
  if (share - before < ERROR_SHARE_MARGIN || share < 2 * before) return null;
  const baseline =
    previous.figures.requests > 0
      ? `v${previous.version} answered ${percent(before)}`
      : `v${previous.version} answered no requests to compare with`;
  return (
    `release v${release.version} answered 5xx to ${percent(share)} of requests (${errors} of ${requests}) ` +
    `within ${since(release.startedAt, now)} of going live; ${baseline}`
  );
}

/** 0.4321 → "43%", 0.004 → "0.4%": whole percents unless that would read 0%. */
export function percent(share: number): string {
  const value = share * 100;
  if (value === 0) return '0%';
  if (value < 1) return `${Number(value.toFixed(1))}%`;
  return `${Math.round(value)}%`;
}

function times(n: number): string {
  return `${n} ${n === 1 ? 'time' : 'times'}`;
}

/** "45 s", "2 min": how long after `from`. */
function since(from: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
