import { describe, expect, it } from 'vitest';
import {
  AUTO_ROLLBACK_DEFAULTS,
  type AutoRollbackSettings,
  decideErrorSpike,
  type ErrorSpikeDecision,
  effectiveAutoRollback,
  percent,
  type ReleaseFigures,
} from './error-spike.ts';

const startedAt = new Date('2026-01-01T12:00:00Z');
const until = new Date('2026-01-01T12:05:00Z');
const during = new Date('2026-01-01T12:02:00Z');
const after = new Date('2026-01-01T12:05:01Z');

const figures = (requests: number, errors: number, restarts = 0): ReleaseFigures => ({ requests, errors, restarts });

function decide(
  now: ReleaseFigures,
  before: ReleaseFigures,
  at: Date = during,
  settings: Partial<AutoRollbackSettings> = {},
): ErrorSpikeDecision {
  return decideErrorSpike({
    settings: { ...AUTO_ROLLBACK_DEFAULTS, ...settings },
    release: { version: 5, startedAt, until, figures: now },
    previous: { version: 4, figures: before },
    now: at,
  });
}

describe('decideErrorSpike', () => {
  it.each<[string, ReleaseFigures, ReleaseFigures, Date, Partial<AutoRollbackSettings>, ErrorSpikeDecision['kind']]>([
    ['no traffic yet: keeps watching', figures(0, 0), figures(500, 2), during, {}, 'watching'],
    ['every request fails but too few to judge', figures(19, 19), figures(500, 2), during, {}, 'watching'],
    ['the same figures past the window: passed', figures(19, 19), figures(500, 2), after, {}, 'passed'],
    ['a few errors, as before: keeps watching', figures(200, 2), figures(500, 3), during, {}, 'watching'],
    ['just below the threshold: keeps watching', figures(100, 24), figures(500, 0), during, {}, 'watching'],
    ['at the threshold, well above the baseline: rolls back', figures(100, 25), figures(500, 0), during, {}, 'roll_back'],
    ['a spike at the minimum number of requests: rolls back', figures(20, 10), figures(500, 1), during, {}, 'roll_back'],
    [
      'above the threshold but the old release failed as much: keeps watching',
      figures(100, 40),
      figures(100, 35),
      during,
      {},
      'watching',
    ],
    [
      'above the threshold, 10 points worse but not twice the old share: keeps watching',
      figures(100, 70),
      figures(100, 40),
      during,
      {},
      'watching',
    ],
    [
      'twice the old share but less than 10 points worse: keeps watching',
      figures(100, 12),
      figures(100, 5),
      during,
      { errorRate: 0.1 },
      'watching',
    ],
    ['no traffic before to compare with: a spike still rolls back', figures(40, 30), figures(0, 0), during, {}, 'roll_back'],
    ['a spike seen only at the end of the window: rolls back', figures(100, 60), figures(100, 0), after, {}, 'roll_back'],
    ['restarts at the threshold, none before: rolls back', figures(0, 0, 3), figures(0, 0, 0), during, {}, 'roll_back'],
    ['restarts below the threshold: keeps watching', figures(0, 0, 2), figures(0, 0, 0), during, {}, 'watching'],
    ['restarts as many as before: keeps watching', figures(0, 0, 4), figures(0, 0, 4), during, {}, 'watching'],
    [
      'a lower threshold of its own: rolls back',
      figures(10, 2),
      figures(100, 0),
      during,
      { minRequests: 10, errorRate: 0.2 },
      'roll_back',
    ],
    ['disabled: passes whatever happens', figures(100, 100, 9), figures(100, 0), during, { enabled: false }, 'passed'],
    ['a clean window ends: passed', figures(1000, 3), figures(1000, 2), after, {}, 'passed'],
  ])('%s', (_name, now, before, at, settings, kind) => {
    expect(decide(now, before, at, settings).kind).toBe(kind);
  });

  it('says what happened in the reason: the share, the counts, how soon, and the previous release', () => {
    const decision = decide(figures(142, 61), figures(1000, 4), new Date('2026-01-01T12:01:30Z'));
    expect(decision).toEqual({
      kind: 'roll_back',
      cause: 'errors',
      reason: 'release v5 answered 5xx to 43% of requests (61 of 142) within 90 s of going live; v4 answered 0.4%',
    });
  });

  it('names restarts when they are the cause, in minutes past two', () => {
    expect(decide(figures(10, 0, 4), figures(500, 0, 1), new Date('2026-01-01T12:03:00Z'))).toEqual({
      kind: 'roll_back',
      cause: 'restarts',
      reason: 'release v5 restarted 4 times within 3 min of going live; v4 restarted 1 time before it',
    });
  });

  it('errors come before restarts when both are past their thresholds', () => {
    expect(decide(figures(50, 50, 5), figures(50, 0, 0))).toMatchObject({ kind: 'roll_back', cause: 'errors' });
  });

  it('says when the previous release had no requests to compare with', () => {
    const decision = decide(figures(40, 30), figures(0, 0));
    expect(decision.kind === 'roll_back' && decision.reason).toMatch(/; v4 answered no requests to compare with$/);
  });
});

describe('effectiveAutoRollback', () => {
  it('takes the default for each column left null', () => {
    expect(effectiveAutoRollback(null)).toEqual(AUTO_ROLLBACK_DEFAULTS);
    expect(
      effectiveAutoRollback({ enabled: false, windowSeconds: null, errorRate: 0.5, minRequests: null, restarts: 7 }),
    ).toEqual({
      enabled: false,
      windowSeconds: 300,
      errorRate: 0.5,
      minRequests: 20,
      restarts: 7,
    });
  });

  it('is on by default, over five minutes', () => {
    expect(AUTO_ROLLBACK_DEFAULTS.enabled).toBe(true);
    expect(AUTO_ROLLBACK_DEFAULTS.windowSeconds).toBe(300);
  });
});

describe('percent', () => {
  it.each([
    [0, '0%'],
    [0.004, '0.4%'],
    [0.0123, '1%'],
    [0.4296, '43%'],
    [1, '100%'],
  ])('%s → %s', (share, text) => {
    expect(percent(share)).toBe(text);
  });
});
