import { describe, expect, it } from 'vitest';
import { survivor } from './networks.ts';

describe('survivor', () => {
  const a = { Id: 'aaa', Created: '2025-03-01T10:00:00.100000000Z' };
  const b = { Id: 'bbb', Created: '2025-03-01T10:00:00.200000000Z' };
  const c = { Id: 'ccc', Created: '2025-03-01T10:00:00.100000000Z' };
  it.each([
    { name: 'none', networks: [], expected: undefined },
    { name: 'one', networks: [b], expected: b },
    { name: 'the oldest', networks: [b, a], expected: a },
    { name: 'same time: the smaller id', networks: [c, b, a], expected: a },
  ])('$name', ({ networks, expected }) => {
    expect(survivor(networks)).toBe(expected);
  });
});
