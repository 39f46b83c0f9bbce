import { describe, expect, it } from 'vitest';
import { afterFailedAuthorization, delayAfterOtherFailure, HOUR_MS, isAcmeToken, renewalTime } from './certificate-policy.ts';

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000);

describe('renewalTime', () => {
  const notBefore = at(0);
  const notAfter = at(90 * 24 * 60);
  it.each([
    [0, 0.6333],
    [0.5, 0.6667],
    [0.9999, 0.7],
  ])('random %d renews at %d of the lifetime', (random, fraction) => {
    const renewAt = renewalTime(notBefore, notAfter, () => random);
    const lifetime = notAfter.getTime() - notBefore.getTime();
    expect((renewAt.getTime() - notBefore.getTime()) / lifetime).toBeCloseTo(fraction, 3);
  });

  it('always lands before expiry, also for very short certificates', () => {
    const renewAt = renewalTime(at(0), new Date(at(0).getTime() + 20_000), () => 0.999);
    expect(renewAt.getTime() - at(0).getTime()).toBeLessThanOrEqual(14_000);
  });
});

describe('afterFailedAuthorization', () => {
  it.each([
    [[], 1],
    [[-1], 2],
    [[-3, -1], 4],
    [[-100, -3, -1], 4], // a failure more than an hour ago no longer counts
  ])('after failures at %j minutes the delay is %d base delays', (minutes, factor) => {
    const now = at(0);
    const { nextAttemptAt, failureTimes } = afterFailedAuthorization(
      minutes.map((m) => at(m)),
      now,
      60_000,
    );
    expect(nextAttemptAt.getTime() - now.getTime()).toBe(factor * 60_000);
    expect(failureTimes.at(-1)).toEqual(now);
    expect(failureTimes.every((t) => now.getTime() - t.getTime() < HOUR_MS)).toBe(true);
  });

  it('never allows more than five failed authorizations in any hour', () => {
    let failures: Date[] = [];
    let now = at(0);
    const attempts: Date[] = [];
    for (let i = 0; i < 20; i++) {
      attempts.push(now);
      const backoff = afterFailedAuthorization(failures, now, 1_000);
      failures = backoff.failureTimes;
      now = backoff.nextAttemptAt;
    }
    for (const start of attempts) {
      const inHour = attempts.filter((t) => t >= start && t.getTime() < start.getTime() + HOUR_MS);
      expect(inHour.length).toBeLessThanOrEqual(5);
    }
  });

  it('caps a single delay at an hour', () => {
    const { nextAttemptAt } = afterFailedAuthorization([at(-3), at(-2), at(-1)], at(0), 30 * 60_000);
    expect(nextAttemptAt.getTime() - at(0).getTime()).toBe(HOUR_MS);
  });
});

describe('delayAfterOtherFailure', () => {
  it.each([
    [0, 60_000],
    [60_000, 120_000],
    [120_000, 240_000],
    [40 * 60_000, HOUR_MS],
    [1_000, 60_000],
  ])('after a wait of %d ms the next is %d ms', (previous, next) => {
    expect(delayAfterOtherFailure(previous, 60_000)).toBe(next);
  });
});

describe('isAcmeToken', () => {
  it.each(['LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0', 'abcdefghijklmnop', 'a-b_c-d_e-f_g-h_'])('accepts %s', (token) => {
    expect(isAcmeToken(token)).toBe(true);
  });

  it.each([
    '',
    'short',
    '../../etc/passwd',
    '..',
    'abcdefghijklmnop..',
    'abcdefghijklmnop/x',
    'abcdefghijklmnop%2e%2e',
    'abcdefghijklmnop=',
    'abcdefghijklmnop x',
    'a'.repeat(129),
  ])('refuses %j', (token) => {
    expect(isAcmeToken(token)).toBe(false);
  });
});
