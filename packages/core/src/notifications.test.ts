import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import {
  afterFailure,
  assertEventKinds,
  DEFAULT_RETRY_POLICY,
  messageTitle,
  slackBody,
  subscriptionHears,
  summaryDue,
  summaryMessage,
  throttleDecision,
  throttleKey,
  webhookBody,
  webhookSignature,
} from './notifications.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const WINDOW = 900_000;

describe('throttleDecision', () => {
  it.each([
    ['no window opened yet', null, at(0), 'send'],
    ['within the window', at(0), at(899), 'suppress'],
    ['at once after the first', at(0), at(0), 'suppress'],
    ['the window ended', at(0), at(900), 'send'],
    ['long after', at(0), at(5000), 'send'],
  ] as const)('%s', (_, openedAt, now, expected) => {
    expect(throttleDecision(openedAt, now, WINDOW)).toBe(expected);
  });
});

describe('summaryDue', () => {
  it.each([
    ['window running', at(0), at(899), 3, false],
    ['window ended, something held back', at(0), at(900), 3, true],
    ['window ended, nothing held back', at(0), at(900), 0, false],
  ] as const)('%s', (_, openedAt, now, suppressed, expected) => {
    expect(summaryDue(openedAt, now, WINDOW, suppressed)).toBe(expected);
  });
});

describe('afterFailure', () => {
  const created = at(0);
  it.each([
    // attempts made, now (s), random, expected next attempt (s after now) or dead
    ['first failure, no jitter', 1, 0, 0, 15],
    ['first failure, full jitter', 1, 0, 0.999_999, 30],
    ['third failure doubles twice', 3, 100, 0, 60],
    ['capped at an hour', 20, 1000, 1, 3600],
  ] as const)('%s', (_, attempts, nowSeconds, random, waitSeconds) => {
    const result = afterFailure({ createdAt: created, attempts }, at(nowSeconds), DEFAULT_RETRY_POLICY, () => random);
    expect(result).toEqual({ state: 'pending', nextAttemptAt: new Date(at(nowSeconds).getTime() + waitSeconds * 1000) });
  });

  it('is dead once the delivery is as old as the give-up age', () => {
    expect(afterFailure({ createdAt: created, attempts: 9 }, at(86_400), DEFAULT_RETRY_POLICY, () => 0)).toEqual({
      state: 'dead',
    });
  });

  it('tries once more at the give-up age when the next delay would pass it', () => {
    const policy = { baseMs: 30_000, capMs: 3_600_000, giveUpMs: 40_000 };
    expect(afterFailure({ createdAt: created, attempts: 2 }, at(30), policy, () => 0)).toEqual({
      state: 'pending',
      nextAttemptAt: at(40),
    });
  });
});

describe('subscriptionHears', () => {
  const app = { appId: 'a1', kind: 'crash.loop' };
  const other = { appId: 'a2', kind: 'crash.loop' };
  const host = { appId: null, kind: 'host.disk' };
  it.each([
    ['its app, every kind', { appId: 'a1', kinds: [] }, app, true],
    ['another app', { appId: 'a1', kinds: [] }, other, false],
    ['its app, another kind', { appId: 'a1', kinds: ['deploy.failed'] }, app, false],
    ['its app, that kind', { appId: 'a1', kinds: ['crash.loop'] }, app, true],
    ['an app sub does not hear the host', { appId: 'a1', kinds: [] }, host, false],
    ['host sub hears the host', { appId: null, kinds: [] }, host, true],
    ['host sub does not hear apps', { appId: null, kinds: [] }, app, false],
    ['host sub with every app', { appId: null, allApps: true, kinds: [] }, other, true],
    ['host sub with every app, by kind', { appId: null, allApps: true, kinds: ['deploy.failed'] }, other, false],
  ] as const)('%s', (_, subscription, event, expected) => {
    expect(subscriptionHears(subscription, event)).toBe(expected);
  });
});

describe('assertEventKinds', () => {
  it('dedupes known kinds', () => {
    expect(assertEventKinds(['crash.loop', 'crash.loop', 'host.disk'])).toEqual(['crash.loop', 'host.disk']);
  });
  it('refuses an unknown kind naming events', () => {
    expect(() => assertEventKinds(['crash.loop', 'crash.nope'])).toThrow(ValidationError);
    expect(() => assertEventKinds(['crash.nope'])).toThrow(/^events: unknown event kind "crash.nope"/);
  });
});

describe('messages', () => {
  const event = {
    kind: 'crash.loop' as const,
    severity: 'critical' as const,
    app: 'shop',
    env: 'production',
    message: 'web keeps crashing <exit 1>',
    at: at(0).toISOString(),
    data: { exitCode: 1 },
  };

  it('keys the throttle by app, environment and kind', () => {
    expect(throttleKey({ appId: 'a1', envName: 'production', kind: 'crash.loop' })).toBe('a1:production:crash.loop');
    expect(throttleKey({ appId: null, envName: null, kind: 'host.disk' })).toBe('host:-:host.disk');
    expect(throttleKey({ appId: null, envName: null, kind: 'host.disk', data: { disk: '/' } })).toBe('host:-:host.disk:/');
    expect(throttleKey({ appId: null, envName: null, kind: 'host.disk', data: { disk: '/var/lib/docker' } })).toBe(
      'host:-:host.disk:/var/lib/docker',
    );
  });

  it('titles with where it happened', () => {
    expect(messageTitle(event)).toBe('shop/production: web keeps crashing <exit 1>');
    // An event's own message names its app first: not twice.
    const named = { ...event, message: 'shop production: web keeps crashing' };
    expect(messageTitle(named)).toBe('shop production: web keeps crashing');
  });

  it('escapes Slack mrkdwn', () => {
    expect(slackBody(event).text).toBe(':red_circle: *shop/production* `crash.loop`\nweb keeps crashing &lt;exit 1&gt;');
  });

  it('gives the webhook body its documented fields', () => {
    expect(webhookBody(7, event)).toEqual({ id: '7', ...event });
  });

  it('sums up held-back events', () => {
    const summary = summaryMessage({
      eventKind: 'crash.loop',
      app: 'shop',
      env: 'production',
      count: 4,
      first: at(1).toISOString(),
      last: at(9).toISOString(),
    });
    expect(summary.severity).toBe('critical');
    expect(summary.message).toBe(`crash.loop happened 4 more times between ${at(1).toISOString()} and ${at(9).toISOString()}`);
    expect(webhookBody(8, summary)).toMatchObject({ kind: 'summary', data: { eventKind: 'crash.loop', count: 4 } });
  });

  it('signs as GitHub does', () => {
    const body = '{"a":1}';
    expect(webhookSignature('s3cret', body)).toBe(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
  });
});
