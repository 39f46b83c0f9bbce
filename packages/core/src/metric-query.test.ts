import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { parseMetricsRange } from './metric-query.ts';

const NOW = new Date('2026-05-10T12:00:30Z');

describe('parseMetricsRange', () => {
  it.each([
    ['the last hour by default, per minute', {}, { since: '2026-05-10T11:00:00.000Z', step: 60 }],
    [
      '24h: five-minute buckets by default (about 120 points)',
      { since: '24h' },
      { since: '2026-05-09T12:00:00.000Z', step: 720 },
    ],
    ['an ISO range with a step', { since: '2026-05-10T10:00:00Z', until: '2026-05-10T11:00:00Z', step: '300' }, { step: 300 }],
    ['a step rounded up to a whole minute', { since: '1h', step: 90 }, { step: 120 }],
    ['past a week, rounded up to whole hours', { since: '30d', step: '600' }, { step: 3600 }],
  ])('%s', (_, input, expected) => {
    const range = parseMetricsRange(input, NOW);
    expect(range.step).toBe(expected.step);
    if ('since' in expected) expect(range.since.toISOString()).toBe(expected.since);
    expect(range.since.getTime() % (range.step * 1000)).toBe(0);
  });

  it.each([
    ['an inverted range', { since: '2026-05-10T11:00:00Z', until: '2026-05-10T10:00:00Z' }, 'since'],
    ['a step below a minute', { step: '30' }, 'step'],
    ['a step above a day', { step: '90000' }, 'step'],
    ['a step that is not a number', { step: 'fast' }, 'step'],
    ['too many points', { since: '7d', step: '60' }, 'step'],
    ['older than what is kept', { since: '120d' }, 'since'],
    ['a time that is neither ISO nor relative', { since: 'yesterday' }, 'since'],
    ['a bad until', { until: '5 minutes' }, 'until'],
  ])('refuses %s, naming the field', (_, input, field) => {
    let error: unknown;
    try {
      parseMetricsRange(input, NOW);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect((error as ValidationError).message.startsWith(`${field}:`)).toBe(true);
  });
});
