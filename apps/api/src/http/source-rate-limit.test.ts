import { RateLimitedError } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { SourceRateLimit } from './source-rate-limit.ts';

describe('SourceRateLimit', () => {
  it('allows a burst of perMinute, then refuses with the wait, then refills over time', () => {
    let now = 0;
    const limit = new SourceRateLimit({ perMinute: 60, now: () => now });
    for (let i = 0; i < 60; i++) limit.take('192.0.2.1');
    const refused = (() => {
      try {
        limit.take('192.0.2.1');
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterSeconds).toBe(1);
    expect(() => limit.take('198.51.100.7')).not.toThrow();
    now += 1000;
    expect(() => limit.take('192.0.2.1')).not.toThrow();
    expect(() => limit.take('192.0.2.1')).toThrow(RateLimitedError);
    now += 60_000;
    for (let i = 0; i < 60; i++) limit.take('192.0.2.1');
  });

  it('remembers at most maxSources sources', () => {
    const limit = new SourceRateLimit({ perMinute: 1, maxSources: 3, now: () => 0 });
    for (const source of ['a', 'b', 'c', 'd']) limit.take(source);
    // `a` was forgotten (least recently seen) and starts with a full bucket; `d` is still empty.
    expect(() => limit.take('a')).not.toThrow();
    expect(() => limit.take('d')).toThrow(RateLimitedError);
  });
});
