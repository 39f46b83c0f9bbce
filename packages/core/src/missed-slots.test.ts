import { describe, expect, it } from 'vitest';
import { parseCron } from './cron.ts';
import { missedSlots } from './missed-slots.ts';

const at = (iso: string) => new Date(iso);
const ms = (...isos: string[]) => new Set(isos.map((iso) => at(iso).getTime()));

describe('missedSlots', () => {
  const hourly = parseCron('0 * * * *');
  const cases: [string, string, string, Set<number>, string[], number][] = [
    [
      'every slot taken',
      '2026-01-01T00:00:00Z',
      '2026-01-01T03:00:00Z',
      ms('2026-01-01T01:00:00Z', '2026-01-01T02:00:00Z', '2026-01-01T03:00:00Z'),
      [],
      0,
    ],
    [
      'one slot without a run',
      '2026-01-01T00:00:00Z',
      '2026-01-01T03:00:00Z',
      ms('2026-01-01T01:00:00Z', '2026-01-01T03:00:00Z'),
      ['2026-01-01T02:00:00.000Z'],
      0,
    ],
    ['from is exclusive, until inclusive', '2026-01-01T01:00:00Z', '2026-01-01T02:00:00Z', ms(), ['2026-01-01T02:00:00.000Z'], 0],
    ['no slot in the window', '2026-01-01T01:00:00Z', '2026-01-01T01:59:00Z', ms(), [], 0],
    [
      'more than a pass reports one by one: the rest counted',
      '2026-01-01T00:00:00Z',
      '2026-01-01T05:00:00Z',
      ms(),
      ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'],
      3,
    ],
  ];
  it.each(cases)('%s', (_name, from, until, taken, missed, more) => {
    const result = missedSlots(hourly, at(from), at(until), taken, 2);
    expect(result.missed.map((d) => d.toISOString())).toEqual(missed);
    expect(result.more).toBe(more);
  });

  it('reads the schedule in its time zone', () => {
    const result = missedSlots(
      parseCron('30 2 * * *', 'Europe/Paris'),
      at('2026-06-01T00:00:00Z'),
      at('2026-06-02T00:00:00Z'),
      ms(),
    );
    expect(result.missed.map((d) => d.toISOString())).toEqual(['2026-06-01T00:30:00.000Z']);
  });

  it('stops counting a very long stretch', () => {
    const result = missedSlots(parseCron('* * * * *'), at('2026-01-01T00:00:00Z'), at('2026-03-01T00:00:00Z'), ms());
    expect(result.missed).toHaveLength(50);
    expect(result.missed.length + result.more).toBe(20_000);
  });
});
