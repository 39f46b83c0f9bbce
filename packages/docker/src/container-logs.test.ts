import { describe, expect, it } from 'vitest';
import { engineSeconds, logQuery } from './container-logs.ts';

describe('logQuery', () => {
  const base = { stdout: true, stderr: true, timestamps: true };
  it.each([
    { options: {}, expected: { ...base, follow: false, tail: 'all' } },
    { options: { follow: true, tail: 20 }, expected: { ...base, follow: true, tail: 20 } },
    { options: { tail: 0 }, expected: { ...base, follow: false, tail: 0 } },
    {
      options: { since: new Date(1_700_000_000_123) },
      expected: { ...base, follow: false, tail: 'all', since: '1700000000.123000000' },
    },
    {
      options: { since: new Date(1_700_000_000_000) },
      expected: { ...base, follow: false, tail: 'all', since: '1700000000.000000000' },
    },
  ])('$options', ({ options, expected }) => {
    expect(logQuery(options)).toEqual(expected);
  });

  it.each([-1, 1.5])('refuses tail = %s', (tail) => {
    expect(() => logQuery({ tail })).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'tail' }));
  });
});

describe('engineSeconds', () => {
  it.each([
    ['2025-03-01T10:00:00.123456789Z', '1740823200.123456789'],
    ['2025-03-01T10:00:00.5Z', '1740823200.500000000'],
    ['2025-03-01T10:00:00Z', '1740823200.000000000'],
    ['2025-03-01T12:00:00.000000001+02:00', '1740823200.000000001'],
  ])('%s is %s', (time, seconds) => {
    expect(engineSeconds(time)).toBe(seconds);
    expect(logQuery({ sinceTime: time }).since).toBe(seconds);
  });

  it('refuses what is not a timestamp', () => {
    expect(() => engineSeconds('yesterday')).toThrow(expect.objectContaining({ field: 'sinceTime' }));
  });
});
