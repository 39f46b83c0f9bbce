import { describe, expect, it } from 'vitest';
import { cronProblem, latestDueSlot, nextCronTime, parseCron, timeZoneProblem } from './cron.ts';

const next = (expr: string, after: string) => nextCronTime(parseCron(expr), new Date(after))?.toISOString();

describe('cron', () => {
  it.each([
    ['0 3 * * *', '2026-01-01T02:59:30Z', '2026-01-01T03:00:00.000Z'],
    ['0 3 * * *', '2026-01-01T03:00:00Z', '2026-01-02T03:00:00.000Z'],
    ['*/15 * * * *', '2026-01-01T10:07:00Z', '2026-01-01T10:15:00.000Z'],
    ['* * * * *', '2026-01-01T10:07:59Z', '2026-01-01T10:08:00.000Z'],
    ['30 1 1 * *', '2026-01-15T00:00:00Z', '2026-02-01T01:30:00.000Z'],
    ['0 0 * * 0', '2026-11-26T12:00:00Z', '2026-11-29T00:00:00.000Z'],
    ['0 0 * * 7', '2026-11-26T12:00:00Z', '2026-11-29T00:00:00.000Z'],
    ['0 0 13 * 5', '2026-11-26T12:00:00Z', '2026-11-27T00:00:00.000Z'],
    ['0 12 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T12:00:00.000Z'],
    ['0 9-17/4 * * 1-5', '2026-11-27T14:00:00Z', '2026-11-27T17:00:00.000Z'],
    ['0 9-17/4 * * 1-5', '2026-11-27T17:00:00Z', '2026-11-30T09:00:00.000Z'],
    ['@daily', '2026-11-26T12:00:00Z', '2026-11-27T00:00:00.000Z'],
    ['5,10 * * * *', '2026-11-26T12:06:00Z', '2026-11-26T12:10:00.000Z'],
  ])('%s after %s is %s', (expr, after, expected) => {
    expect(next(expr, after)).toBe(expected);
  });

  it.each([
    ['0 3 * *', 'must have 5 fields'],
    ['60 * * * *', 'minute field "60" is out of range 0-59'],
    ['* 24 * * *', 'hour field "24" is out of range'],
    ['* * 0 * *', 'day of month field "0" is out of range'],
    ['* * * 13 *', 'month field "13"'],
    ['a * * * *', 'minute field "a" is not valid'],
    ['5-1 * * * *', 'out of range'],
    ['*/0 * * * *', 'out of range'],
  ])('refuses %s', (expr, message) => {
    expect(cronProblem(expr)).toContain(message);
  });

  it('a date that never comes gives null', () => {
    expect(nextCronTime(parseCron('0 0 31 2 *'), new Date('2026-01-01T00:00:00Z'))).toBeNull();
  });
});

describe('latestDueSlot', () => {
  const daily = parseCron('0 3 * * *');
  it('is null before the first slot, the slot once it passed, and only the newest after a long pause', () => {
    const since = new Date('2026-01-01T03:00:00Z');
    expect(latestDueSlot(daily, since, new Date('2026-01-02T02:59:59Z'))).toBeNull();
    expect(latestDueSlot(daily, since, new Date('2026-01-02T03:00:00Z'))?.toISOString()).toBe('2026-01-02T03:00:00.000Z');
    expect(latestDueSlot(daily, since, new Date('2026-01-09T12:00:00Z'))?.toISOString()).toBe('2026-01-09T03:00:00.000Z');
  });
});

describe('cron in a time zone', () => {
  const inZone = (expr: string, zone: string, after: string) =>
    nextCronTime(parseCron(expr, zone), new Date(after))?.toISOString();

  it.each([
    // Winter and summer time of one wall-clock slot.
    ['0 9 * * *', 'Europe/Berlin', '2026-01-01T00:00:00Z', '2026-01-01T08:00:00.000Z'],
    ['0 9 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-29T07:00:00.000Z'],
    // 02:30 does not exist in New York on 8 March 2026 (02:00 -> 03:00): that day has no run.
    ['30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-09T06:30:00.000Z'],
    ['0 3 * * *', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-08T07:00:00.000Z'],
    // 01:30 happens twice on 1 November 2026 (02:00 -> 01:00): it runs at the first, then the next day.
    ['30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-01T05:30:00.000Z'],
    ['30 1 * * *', 'America/New_York', '2026-11-01T05:30:00Z', '2026-11-02T06:30:00.000Z'],
    // Every hour through the repeated hour: 01:00 once (EDT), then 02:00 EST.
    ['0 * * * *', 'America/New_York', '2026-11-01T05:00:00Z', '2026-11-01T07:00:00.000Z'],
    // Half-hour offsets, and UTC spelled out.
    ['0 0 * * *', 'Asia/Kolkata', '2026-06-01T00:00:00Z', '2026-06-01T18:30:00.000Z'],
    ['0 0 * * *', 'UTC', '2026-06-01T00:00:00Z', '2026-06-02T00:00:00.000Z'],
  ])('%s in %s after %s is %s', (expr, zone, after, expected) => {
    expect(inZone(expr, zone, after)).toBe(expected);
  });

  it('names an unknown zone, and parseCron refuses it on the timeZone field', () => {
    expect(timeZoneProblem('Europe/Berlin')).toBeUndefined();
    expect(timeZoneProblem('Mars/Olympus')).toContain('"Mars/Olympus" is not a known IANA time zone');
    expect(() => parseCron('* * * * *', 'Mars/Olympus')).toThrow(expect.objectContaining({ field: 'timeZone' }));
  });

  it('latestDueSlot reads the zone too', () => {
    const berlin = parseCron('0 9 * * *', 'Europe/Berlin');
    const slot = latestDueSlot(berlin, new Date('2026-03-27T12:00:00Z'), new Date('2026-03-30T12:00:00Z'));
    expect(slot?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
  });
});
