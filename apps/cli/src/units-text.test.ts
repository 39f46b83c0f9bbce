import { describe, expect, it } from 'vitest';
import { durationText, relativeTime, sizeText } from './units-text.ts';

describe('relativeTime', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    ['2026-01-01T11:59:30Z', '30s ago'],
    ['2026-01-01T11:00:00Z', '1h ago'],
    ['2026-01-01T12:05:00Z', 'in 5m'],
    ['2026-03-02T12:00:00Z', 'in 60d'],
    [null, '-'],
  ])('%s → %s', (iso, text) => {
    expect(relativeTime(iso, now)).toBe(text);
  });
});

describe('durationText', () => {
  it.each([
    [null, '-'],
    [420, '0.4s'],
    [12_000, '12.0s'],
    [184_000, '3m 04s'],
    [7_500_000, '2h 05m'],
  ])('%s ms → %s', (ms, text) => {
    expect(durationText(ms)).toBe(text);
  });
});

describe('sizeText', () => {
  it.each([
    [null, '-'],
    [999, '999 B'],
    [2400, '2.4 kB'],
    [2_000_000, '2.0 MB'],
    [3_500_000_000_000_000, '3500.0 TB'],
  ])('%s → %s', (bytes, text) => {
    expect(sizeText(bytes)).toBe(text);
  });
});
