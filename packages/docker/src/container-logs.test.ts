import { describe, expect, it } from 'vitest';
import { logQuery } from './container-logs.ts';

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
