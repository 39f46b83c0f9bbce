import { describe, expect, it } from 'vitest';
import { type CrashFacts, crashEvents, healthFailingEvent, type ReplicaPlace } from './replica-events.ts';

const place: ReplicaPlace = { appId: 'a1', appName: 'shop', environmentId: 'e1', envName: 'staging', processType: 'worker' };
const at = new Date('2026-01-01T00:00:00Z');

describe('crashEvents', () => {
  const crash = (change: Partial<CrashFacts>): CrashFacts => ({
    restartStreak: 1,
    crashedAt: at,
    crashLooping: false,
    reason: 'exited with code 1',
    ...change,
  });
  const cases: [string, Partial<CrashFacts>, string[]][] = [
    ['a first crash: nothing', {}, []],
    ['the streak below the threshold', { restartStreak: 2 }, []],
    ['the crash that reaches the threshold', { restartStreak: 3, crashLooping: true }, ['crash.loop']],
    ['later crashes of the same streak', { restartStreak: 4, crashLooping: true }, []],
    ['later crashes of a streak already looping', { restartStreak: 9, crashLooping: true, wasLooping: true }, []],
    [
      'a streak past the threshold that was reset (a new release)',
      { restartStreak: 7, crashLooping: true, wasLooping: false },
      ['crash.loop'],
    ],
    ['the threshold, the type not looping before', { restartStreak: 3, crashLooping: true, wasLooping: false }, ['crash.loop']],
    [
      'an out-of-memory kill of a streak already looping',
      { oomKilled: true, restartStreak: 5, crashLooping: true, wasLooping: true },
      [],
    ],
    ['an out-of-memory kill past the threshold, unknown before', { oomKilled: true, restartStreak: 4, crashLooping: true }, []],
    ['killed for its memory', { oomKilled: true, memoryMb: 32, exitCode: 137 }, ['crash.oom']],
    [
      'killed for its memory as the streak reaches it',
      { oomKilled: true, restartStreak: 3, crashLooping: true },
      ['crash.oom', 'crash.loop'],
    ],
  ];
  it.each(cases)('%s', (_name, change, kinds) => {
    expect(crashEvents(place, crash(change), 3).map((e) => e.kind)).toEqual(kinds);
  });

  it('says where and why, keyed once per crash', () => {
    const [oom, loop] = crashEvents(place, crash({ oomKilled: true, memoryMb: 32, restartStreak: 3, crashLooping: true }), 3);
    expect(oom?.message).toBe('shop staging: a worker replica ran out of memory at its limit of 32 MiB and was killed.');
    expect(loop?.message).toBe('shop staging: worker is crash-looping (3 crashes in a row; last: exited with code 1).');
    expect(loop?.dedupeKey).toBe('crash.loop:e1:worker:2026-01-01T00:00:00.000Z');
    expect(oom?.dedupeKey).not.toBe(loop?.dedupeKey);
  });
});

describe('healthFailingEvent', () => {
  const replica = { replicaId: 'r1', name: 'shop-staging-web-1', unhealthySince: at };
  it.each([
    ['a failed probe a moment ago', 2_000, false],
    ['failing for the threshold', 10_000, true],
    ['failing for longer', 60_000, true],
  ])('%s', (_name, failingMs, reported) => {
    const event = healthFailingEvent(place, replica, new Date(at.getTime() + failingMs), 10_000);
    expect(event !== null).toBe(reported);
    if (event) expect(event.dedupeKey).toBe('health.failing:r1:2026-01-01T00:00:00.000Z');
  });
});
