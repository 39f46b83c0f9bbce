import { describe, expect, it } from 'vitest';
import { dueSlot } from './cron-scheduler.ts';

const at = (iso: string) => new Date(iso);
const minutely = { schedule: '* * * * *', timeZone: null, since: at('2026-05-01T12:00:30Z') };

describe('dueSlot', () => {
  it.each([
    ['before the first slot after the declaration', minutely, undefined, '2026-05-01T12:00:59Z', null],
    [
      'the first slot after the declaration (never one before it)',
      minutely,
      undefined,
      '2026-05-01T12:01:05Z',
      '2026-05-01T12:01:00.000Z',
    ],
    ['nothing while the last recorded slot is the newest', minutely, '2026-05-01T12:01:00Z', '2026-05-01T12:01:50Z', null],
    [
      'only the newest of several missed slots',
      minutely,
      '2026-05-01T12:01:00Z',
      '2026-05-01T12:09:10Z',
      '2026-05-01T12:09:00.000Z',
    ],
    [
      'a daily job in Berlin',
      { schedule: '0 3 * * *', timeZone: 'Europe/Berlin', since: at('2026-05-01T00:00:00Z') },
      undefined,
      '2026-05-02T12:00:00Z',
      '2026-05-02T01:00:00.000Z',
    ],
    [
      'a job replaced after its last slot counts from its replacement',
      { ...minutely, since: at('2026-05-01T12:05:30Z') },
      '2026-05-01T12:01:00Z',
      '2026-05-01T12:05:40Z',
      null,
    ],
  ] as const)('%s', (_what, job, last, now, expected) => {
    const slot = dueSlot(job, last ? at(last) : undefined, at(now));
    expect(slot?.toISOString() ?? null).toBe(expected);
  });
});
