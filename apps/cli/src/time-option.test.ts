import { describe, expect, it } from 'vitest';
import { timeOption } from './time-option.ts';

const now = Date.parse('2026-05-01T12:00:00Z');

describe('timeOption', () => {
  it.each([
    ['30s', '2026-05-01T11:59:30.000Z'],
    ['15m', '2026-05-01T11:45:00.000Z'],
    ['2h', '2026-05-01T10:00:00.000Z'],
    ['3d', '2026-04-28T12:00:00.000Z'],
    ['2026-04-30T08:15:00Z', '2026-04-30T08:15:00.000Z'],
    ['2026-04-30T08:15:00.250+02:00', '2026-04-30T06:15:00.250Z'],
    ['2026-04-30', '2026-04-30T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(timeOption('since', text, now)).toBe(iso);
  });

  it.each(['yesterday', '5w', '-3h', '2026-13-45', '12:00', ''])('refuses %j naming the option', (text) => {
    expect(() => timeOption('until', text, now)).toThrow(/^--until: must be a time/);
  });
});
