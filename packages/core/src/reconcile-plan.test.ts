import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_PLAN_OPTIONS,
  type DesiredEnvironment,
  type GateStatus,
  type ObservedReplica,
  type PlanOptions,
  plan,
  type ReconcileAction,
} from './reconcile-plan.ts';

// Every case below is one environment, e1, whose live release is `live`;
// rolling() adds a rollout (ro1) to release `next`. Replicas a, b serve `live`;
// n1, n2… are started for the rollout, r1… are replacements of `live`.

const now = new Date('2026-01-01T12:00:00Z');
const options: PlanOptions = { ...DEFAULT_PLAN_OPTIONS, now };
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

function env(overrides: Partial<DesiredEnvironment> = {}): DesiredEnvironment {
  return {
    environmentId: 'e1',
    desiredReleaseId: 'live',
    liveReleaseId: 'live',
    rollout: null,
    replicas: 2,
    drainTimeoutMs: 30_000,
    restartStreak: 0,
    nextRestartAt: null,
    lastCrashAt: null,
    ...overrides,
  };
}

/** e1 rolling out `next` (rollout ro1) while `live` serves. */
function rolling(overrides: Partial<DesiredEnvironment> = {}): DesiredEnvironment {
  return env({ desiredReleaseId: 'next', rollout: { id: 'ro1', toReleaseId: 'next' }, ...overrides });
}

/** A healthy serving replica of `live` unless overridden. */
function replica(id: string, overrides: Partial<ObservedReplica> = {}): ObservedReplica {
  return {
    replicaId: id,
    containerId: `c-${id}`,
    environmentId: 'e1',
    releaseId: 'live',
    state: 'serving',
    container: 'running',
    healthy: true,
    unhealthyForMs: 0,
    ageMs: 60_000,
    busy: false,
    gate: null,
    ...overrides,
  };
}

/** A `starting` replica of `release` (the rollout's by default) with its gate as probed so far. */
function starting(id: string, gate: GateStatus | null, overrides: Partial<ObservedReplica> = {}): ObservedReplica {
  return replica(id, { releaseId: 'next', state: 'starting', ageMs: 2_000, gate, ...overrides });
}

const pending: GateStatus = { state: 'pending' };
const passed: GateStatus = { state: 'passed' };
const failed = (reason: string): GateStatus => ({ state: 'failed', reason });
const EXITED = 'the container exited before it passed its health check';

/** One line per action, enough to read a table; the shapes are checked in full further down. */
function summary(action: ReconcileAction): string {
  switch (action.kind) {
    case 'start':
      return `start ${action.count}×${action.releaseId}${action.rolloutId ? ` for ${action.rolloutId}` : ''}`;
    case 'gate':
      return `gate ${action.replicaId}`;
    case 'serve':
      return `serve [${action.replicaIds.join(',')}]`;
    case 'switch':
      return `switch ${action.rolloutId} to ${action.releaseId} [${action.replicaIds.join(',')}]`;
    case 'fail':
      return `fail ${action.rolloutId} by ${action.replicaId}: ${action.reason}`;
    case 'drain':
      return `drain ${action.replicaId}: ${action.reason}`;
    case 'remove':
      return `remove ${action.replicaId ?? action.containerId}${action.graceful ? ' gracefully' : ''}: ${action.reason}`;
    case 'backoff':
      return `backoff streak ${action.restartStreak}${action.crashLooping ? ' crash-looping' : ''}`;
    case 'recovered':
      return 'recovered';
  }
}

function steps(desired: DesiredEnvironment, observed: ObservedReplica[], planOptions: PlanOptions = options): string[] {
  const actions = plan([desired], observed, planOptions);
  expect(actions.every((a) => a.environmentId === desired.environmentId)).toBe(true);
  return actions.map(summary);
}

type Case = [name: string, desired: DesiredEnvironment, observed: ObservedReplica[], expected: string[]];

describe('a rollout', () => {
  it.each<Case>([
    ['starts all replicas of the new release', rolling(), [replica('a'), replica('b')], ['start 2×next for ro1']],
    [
      'starts only those not already starting',
      rolling({ replicas: 3 }),
      [replica('a'), replica('b'), starting('n1', pending)],
      ['start 2×next for ro1'],
    ],
    [
      'a first rollout (nothing live yet) starts them the same way',
      rolling({ liveReleaseId: null }),
      [],
      ['start 2×next for ro1'],
    ],
    [
      'gates a started replica not probed yet',
      rolling(),
      [replica('a'), replica('b'), starting('n1', null), starting('n2', pending)],
      ['gate n1'],
    ],
    [
      'waits while the gates are pending',
      rolling(),
      [replica('a'), replica('b'), starting('n1', pending), starting('n2', pending)],
      [],
    ],
    [
      'does not switch while one gate is still pending',
      rolling(),
      [replica('a'), replica('b'), starting('n1', passed), starting('n2', pending)],
      [],
    ],
    [
      'switches once every new replica passed and there are enough',
      rolling(),
      [replica('a'), replica('b'), starting('n1', passed), starting('n2', passed)],
      ['switch ro1 to next [n1,n2]'],
    ],
    [
      'does not switch on fewer passed replicas than wanted: starts the rest',
      rolling({ replicas: 3 }),
      [replica('a'), starting('n1', passed), starting('n2', passed)],
      ['start 1×next for ro1'],
    ],
    [
      'switches to every passed replica when scaled down during the rollout',
      rolling({ replicas: 1 }),
      [replica('a'), starting('n1', passed), starting('n2', passed)],
      ['switch ro1 to next [n1,n2]'],
    ],
    [
      'fails on a failed gate, naming the replica and the reason',
      rolling(),
      [replica('a'), replica('b'), starting('n1', passed), starting('n2', failed('GET /healthz answered 500 for 60 s'))],
      ['fail ro1 by n2: GET /healthz answered 500 for 60 s'],
    ],
    [
      'fails without starting what is still missing',
      rolling({ replicas: 3 }),
      [replica('a'), starting('n1', failed('no answer within 60 s'))],
      ['fail ro1 by n1: no answer within 60 s'],
    ],
    [
      'fails once, on the first failed gate, when several failed',
      rolling(),
      [starting('n1', failed('first')), starting('n2', failed('second'))],
      ['fail ro1 by n1: first'],
    ],
    [
      'fails when a container exits before its gate passed',
      rolling(),
      [replica('a'), replica('b'), starting('n1', passed), starting('n2', pending, { container: 'stopped' })],
      [`fail ro1 by n2: ${EXITED}`],
    ],
    [
      'names the exit code when the runtime gave one',
      rolling(),
      [replica('a'), starting('n1', pending, { container: 'stopped', exitCode: 3 })],
      ['fail ro1 by n1: the container exited with code 3 before it passed its health check'],
    ],
    [
      'an exited container not probed yet fails it too',
      rolling(),
      [replica('a'), replica('b'), starting('n1', null, { container: 'stopped' }), starting('n2', pending)],
      [`fail ro1 by n1: ${EXITED}`],
    ],
    [
      'a failed gate whose container is already gone still fails it',
      rolling(),
      [starting('n1', passed), starting('n2', failed('no answer within 60 s'), { container: 'missing', containerId: null })],
      ['fail ro1 by n2: no answer within 60 s'],
    ],
    [
      'removes a replica whose start was interrupted (no container after the grace) and starts another in its place',
      rolling(),
      [
        replica('a'),
        replica('b'),
        starting('n1', passed),
        starting('n2', null, { container: 'missing', containerId: null, ageMs: 60_000 }),
      ],
      ['remove n2: its start was interrupted', 'start 1×next for ro1'],
    ],
    [
      'counts a replica with no container yet, within the grace, as another reconciler’s start: no second start',
      rolling(),
      [
        replica('a'),
        replica('b'),
        starting('n1', passed),
        starting('n2', null, { container: 'missing', containerId: null, ageMs: 59_999 }),
      ],
      [],
    ],
    [
      'a rollout to the release already live switches at once, with no replicas',
      env({ rollout: { id: 'ro1', toReleaseId: 'live' } }),
      [replica('a'), replica('b')],
      ['switch ro1 to live []'],
    ],
    [
      'removes the replicas of a superseded rollout and starts the new one',
      rolling({ desiredReleaseId: 'newer', rollout: { id: 'ro2', toReleaseId: 'newer' } }),
      [replica('a'), replica('b'), starting('n1', passed), starting('n2', pending)],
      [
        'remove n1: its release is no longer wanted here',
        'remove n2: its release is no longer wanted here',
        'start 2×newer for ro2',
      ],
    ],
    [
      'the live replicas keep serving; a crashed one is removed, not restarted, and starts no backoff',
      rolling(),
      [replica('a'), replica('b', { container: 'stopped' }), starting('n1', pending), starting('n2', pending)],
      ['remove b gracefully: its container is stopped'],
    ],
    [
      'a live replica unhealthy too long is removed, not restarted',
      rolling(),
      [replica('a', { healthy: false, unhealthyForMs: 45_000 }), replica('b'), starting('n1', pending), starting('n2', pending)],
      ['remove a gracefully: unhealthy for 45 s'],
    ],
    [
      'a replacement of the live release started before the rollout is removed',
      rolling(),
      [replica('a'), starting('r1', pending, { releaseId: 'live' }), starting('n1', pending), starting('n2', pending)],
      ['remove r1: a rollout replaces its release'],
    ],
    [
      'live replicas are not scaled down by it (the switch replaces them)',
      rolling({ replicas: 1 }),
      [replica('a'), replica('b'), starting('n1', pending)],
      [],
    ],
    [
      'scaled to zero, it switches at once to no replicas',
      rolling({ replicas: 0 }),
      [replica('a'), replica('b')],
      ['switch ro1 to next []'],
    ],
  ])('%s', (_name, desired, observed, expected) => {
    expect(steps(desired, observed)).toEqual(expected);
  });

  it('switch carries the rollout, its release and exactly the gated replicas', () => {
    const observed = [replica('a'), replica('b'), starting('n2', passed), starting('n1', passed)];
    expect(plan([rolling()], observed, options)).toEqual([
      { kind: 'switch', environmentId: 'e1', rolloutId: 'ro1', releaseId: 'next', replicaIds: ['n2', 'n1'] },
    ]);
  });

  it('fail carries the rollout, the replica and the reason, and nothing is started or switched', () => {
    const observed = [replica('a'), starting('n1', passed), starting('n2', pending, { container: 'stopped' })];
    expect(plan([rolling({ replicas: 3 })], observed, options)).toEqual([
      { kind: 'fail', environmentId: 'e1', rolloutId: 'ro1', replicaId: 'n2', reason: EXITED },
    ]);
  });

  it('start carries the release to start and the rollout id', () => {
    expect(plan([rolling()], [replica('a')], options)).toEqual([
      { kind: 'start', environmentId: 'e1', releaseId: 'next', count: 2, rolloutId: 'ro1' },
    ]);
  });

  it('an interrupted start, pass by pass: removed and replaced, then the replacement is gated', () => {
    const interrupted = starting('n2', null, { container: 'missing', containerId: null, ageMs: 61_000 });
    const first = plan([rolling()], [replica('a'), replica('b'), starting('n1', passed), interrupted], options);
    expect(first).toEqual([
      {
        kind: 'remove',
        environmentId: 'e1',
        replicaId: 'n2',
        containerId: null,
        reason: 'its start was interrupted',
        graceful: false,
      },
      { kind: 'start', environmentId: 'e1', releaseId: 'next', count: 1, rolloutId: 'ro1' },
    ]);
    // n2 is gone; the start made n3.
    expect(steps(rolling(), [replica('a'), replica('b'), starting('n1', passed), starting('n3', null)])).toEqual(['gate n3']);
  });

  // A replica whose start is under way (busy, no container yet) holds its
  // slot, not ready: counted as missing, its slot would get a second container.
  it('a busy replica being started counts as started, not ready: no second start, no switch yet', () => {
    const observed = [
      replica('a'),
      replica('b'),
      starting('n1', passed),
      starting('n2', null, { busy: true, container: 'missing' }),
    ];
    expect(steps(rolling(), observed)).toEqual([]);
  });
});

describe('steady state (no rollout)', () => {
  it.each<Case>([
    ['nothing to do when every replica serves', env(), [replica('a'), replica('b')], []],
    ['starts a missing replica of the live release', env(), [replica('a')], ['start 1×live']],
    ['nothing deployed: nothing started', env({ desiredReleaseId: null, liveReleaseId: null }), [], []],
    [
      'an exited container is removed and the backoff begins',
      env(),
      [replica('a'), replica('b', { container: 'stopped' })],
      ['remove b gracefully: its container is stopped', 'backoff streak 1'],
    ],
    [
      'a vanished container is a crash too',
      env(),
      [replica('a'), replica('b', { container: 'missing' })],
      ['remove b gracefully: its container is missing', 'backoff streak 1'],
    ],
    [
      'two crashes in one pass add one to the streak',
      env({ restartStreak: 1, lastCrashAt: at(-60_000), nextRestartAt: at(-40_000) }),
      [replica('a', { container: 'stopped' }), replica('b', { container: 'missing' })],
      ['remove a gracefully: its container is stopped', 'remove b gracefully: its container is missing', 'backoff streak 2'],
    ],
    ['briefly unhealthy is tolerated', env(), [replica('a'), replica('b', { healthy: false, unhealthyForMs: 29_999 })], []],
    [
      'unhealthy for unhealthyAfterMs is replaced',
      env(),
      [replica('a'), replica('b', { healthy: false, unhealthyForMs: 30_000 })],
      ['remove b gracefully: unhealthy for 30 s', 'backoff streak 1'],
    ],
    [
      'no restart before nextRestartAt',
      env({ restartStreak: 1, lastCrashAt: at(-5_000), nextRestartAt: at(5_000) }),
      [replica('a')],
      [],
    ],
    [
      'restart at nextRestartAt',
      env({ restartStreak: 1, lastCrashAt: at(-10_000), nextRestartAt: now }),
      [replica('a')],
      ['start 1×live'],
    ],
    [
      'restart after nextRestartAt',
      env({ restartStreak: 2, lastCrashAt: at(-30_000), nextRestartAt: at(-10_000) }),
      [],
      ['start 2×live'],
    ],
    ['gates a replacement not probed yet', env(), [replica('a'), starting('r1', null, { releaseId: 'live' })], ['gate r1']],
    ['waits while the replacement is gated', env(), [replica('a'), starting('r1', pending, { releaseId: 'live' })], []],
    [
      'a replacement that passed its gate serves',
      env(),
      [replica('a'), starting('r1', passed, { releaseId: 'live' })],
      ['serve [r1]'],
    ],
    [
      'a replacement whose gate failed is removed and the backoff grows',
      env({ restartStreak: 1, lastCrashAt: at(-20_000), nextRestartAt: at(-10_000) }),
      [replica('a'), starting('r1', failed('no answer within 60 s'), { releaseId: 'live' })],
      ['remove r1: no answer within 60 s', 'backoff streak 2'],
    ],
    [
      'a replacement that exited before its gate passed is a crash',
      env({ restartStreak: 1, lastCrashAt: at(-20_000), nextRestartAt: at(-10_000) }),
      [replica('a'), starting('r1', pending, { releaseId: 'live', container: 'stopped' })],
      [`remove r1: ${EXITED}`, 'backoff streak 2'],
    ],
    [
      'a replacement whose start was interrupted is removed and started again, without backoff',
      env(),
      [replica('a'), starting('r1', null, { releaseId: 'live', container: 'missing', containerId: null, ageMs: 61_000 })],
      ['remove r1: its start was interrupted', 'start 1×live'],
    ],
    ['scaling down drains the extras', env({ replicas: 1 }), [replica('a'), replica('b')], ['drain b: scaled down']],
    [
      'scaling to zero drains all',
      env({ replicas: 0 }),
      [replica('a'), replica('b')],
      ['drain a: scaled down', 'drain b: scaled down'],
    ],
    ['scaling up starts the difference', env({ replicas: 4 }), [replica('a'), replica('b')], ['start 2×live']],
    [
      'a draining replica is kept until the drain timeout',
      env(),
      [replica('a'), replica('b'), replica('o', { state: 'draining', releaseId: 'old', ageMs: 29_999 })],
      [],
    ],
    [
      'a draining replica is removed gracefully after the drain timeout',
      env(),
      [replica('a'), replica('b'), replica('o', { state: 'draining', releaseId: 'old', ageMs: 30_000 })],
      ['remove o gracefully: drained'],
    ],
    [
      'a serving replica of a release that is not live is drained',
      env(),
      [replica('a'), replica('b'), replica('o', { releaseId: 'old' })],
      ['drain o: serves a release that is not live'],
    ],
    [
      'the replicas of a failed rollout are removed once it is over',
      env(),
      [replica('a'), replica('b'), starting('n1', passed), starting('n2', pending)],
      ['remove n1: its release is no longer wanted here', 'remove n2: its release is no longer wanted here'],
    ],
    [
      'a stopped replica row is removed',
      env(),
      [replica('a'), replica('b'), replica('s', { state: 'stopped', container: 'stopped' })],
      ['remove s: stopped'],
    ],
    [
      'an orphaned container is removed',
      env(),
      [replica('a'), replica('b'), replica('x', { replicaId: null })],
      ['remove c-x gracefully: no replica record (orphaned container)'],
    ],
    [
      'an orphan is removed also when nothing is deployed',
      env({ desiredReleaseId: null, liveReleaseId: null }),
      [replica('x', { replicaId: null })],
      ['remove c-x gracefully: no replica record (orphaned container)'],
    ],
    [
      'recovered after resetAfterMs without a crash, every replica present',
      env({ restartStreak: 3, lastCrashAt: at(-10 * 60_000), nextRestartAt: at(-10 * 60_000 + 40_000) }),
      [replica('a'), replica('b')],
      ['recovered'],
    ],
    [
      'a recent crash keeps the streak',
      env({ restartStreak: 3, lastCrashAt: at(-60_000), nextRestartAt: at(-20_000) }),
      [replica('a'), replica('b')],
      [],
    ],
    [
      'not recovered while a replica is missing, however quiet',
      env({ restartStreak: 3, lastCrashAt: at(-11 * 60_000), nextRestartAt: at(-10 * 60_000) }),
      [replica('a')],
      ['start 1×live'],
    ],
  ])('%s', (_name, desired, observed, expected) => {
    expect(steps(desired, observed)).toEqual(expected);
  });

  it('a busy replacement being started counts as started, not ready: no second start, no serve yet', () => {
    const observed = [replica('a'), starting('r1', null, { releaseId: 'live', busy: true, container: 'missing' })];
    expect(steps(env(), observed)).toEqual([]);
  });

  it('serve names every replacement that passed, and only those', () => {
    const observed = [
      starting('r1', passed, { releaseId: 'live' }),
      starting('r2', pending, { releaseId: 'live' }),
      starting('r3', passed, { releaseId: 'live' }),
    ];
    expect(plan([env({ replicas: 3 })], observed, options)).toEqual([
      { kind: 'serve', environmentId: 'e1', replicaIds: ['r1', 'r3'] },
    ]);
  });

  it('a replica that served is stopped gracefully (crashed or drained); one that never took traffic is removed at once', () => {
    const observed = [
      replica('a', { container: 'stopped' }),
      replica('o', { state: 'draining', releaseId: 'old', ageMs: 31_000 }),
      starting('s', null, { container: 'missing', releaseId: 'live' }),
    ];
    const removals = plan([env({ replicas: 1 })], observed, options).filter((a) => a.kind === 'remove');
    expect(removals).toEqual([
      {
        kind: 'remove',
        environmentId: 'e1',
        replicaId: 'a',
        containerId: 'c-a',
        reason: 'its container is stopped',
        graceful: true,
      },
      { kind: 'remove', environmentId: 'e1', replicaId: 'o', containerId: 'c-o', reason: 'drained', graceful: true },
      {
        kind: 'remove',
        environmentId: 'e1',
        replicaId: 's',
        containerId: 'c-s',
        reason: 'its start was interrupted',
        graceful: false,
      },
    ]);
  });
});

describe('crash backoff', () => {
  it('doubles from 10 s to a cap of 5 min', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((s) => backoffDelay(s, options) / 1000)).toEqual([
      10, 10, 20, 40, 80, 160, 300, 300, 300,
    ]);
    expect(backoffDelay(3, { backoffBaseMs: 1_000, backoffMaxMs: 3_000 })).toBe(3_000);
  });

  it.each([
    [0, 1, 10_000, false],
    [1, 2, 20_000, false],
    [2, 3, 40_000, true],
    [5, 6, 300_000, true],
    [9, 10, 300_000, true],
  ])('after streak %d a crash makes streak %d, waits %d ms, crash-looping: %s', (before, after, delayMs, crashLooping) => {
    const desired = env({
      restartStreak: before,
      lastCrashAt: before ? at(-600_000) : null,
      nextRestartAt: before ? at(-1) : null,
    });
    const actions = plan([desired], [replica('a'), replica('b', { container: 'stopped' })], options);
    expect(actions.at(-1)).toEqual({
      kind: 'backoff',
      environmentId: 'e1',
      restartStreak: after,
      crashedAt: now,
      nextRestartAt: at(delayMs),
      crashLooping,
      reason: 'its container is stopped',
      oomKilled: false,
      exitCode: null,
      memoryMb: null,
    });
  });

  it('honours the options: base, cap and crash-loop streak', () => {
    const tight = { ...options, backoffBaseMs: 1_000, backoffMaxMs: 3_000, crashLoopStreak: 5 };
    const [, backoff] = plan([env({ restartStreak: 3 })], [replica('a', { container: 'missing' })], tight);
    expect(backoff).toMatchObject({ restartStreak: 4, nextRestartAt: at(3_000), crashLooping: false });
  });
});

describe('busy replicas and environments that no longer exist', () => {
  it.each<Case>([
    ['a busy crashed replica', env(), [replica('a'), replica('b'), replica('x', { busy: true, container: 'stopped' })], []],
    [
      'a busy drained replica',
      env(),
      [replica('a'), replica('b'), replica('o', { busy: true, state: 'draining', releaseId: 'old', ageMs: 60_000 })],
      [],
    ],
    ['a busy orphan', env(), [replica('a'), replica('b'), replica('x', { busy: true, replicaId: null })], []],
    [
      'a busy replica of an unwanted release during a rollout',
      rolling(),
      [starting('n1', passed), starting('n2', passed), starting('s', null, { busy: true, releaseId: 'older' })],
      ['switch ro1 to next [n1,n2]'],
    ],
    [
      'a busy crashed live replica during a rollout',
      rolling(),
      [replica('a'), replica('b', { busy: true, container: 'stopped' }), starting('n1', pending), starting('n2', pending)],
      [],
    ],
  ])('%s is left alone', (_name, desired, observed, expected) => {
    expect(steps(desired, observed)).toEqual(expected);
  });

  it('removes the replicas of an environment that no longer exists, at once, unless busy', () => {
    const stray = replica('z', { environmentId: 'gone' });
    const strayOrphan = replica('y', { environmentId: 'gone', replicaId: null });
    const busy = replica('w', { environmentId: 'gone', busy: true });
    expect(plan([env()], [replica('a'), replica('b'), stray, strayOrphan, busy], options)).toEqual([
      {
        kind: 'remove',
        environmentId: 'gone',
        replicaId: 'z',
        containerId: 'c-z',
        reason: 'its environment no longer exists',
        graceful: false,
      },
      {
        kind: 'remove',
        environmentId: 'gone',
        replicaId: null,
        containerId: 'c-y',
        reason: 'its environment no longer exists',
        graceful: false,
      },
    ]);
  });

  it('plans each environment from its own replicas only', () => {
    const other = env({ environmentId: 'e2', replicas: 1 });
    const actions = plan([rolling(), other], [replica('a'), replica('b'), replica('c', { environmentId: 'e2' })], options);
    expect(actions).toEqual([{ kind: 'start', environmentId: 'e1', releaseId: 'next', count: 2, rolloutId: 'ro1' }]);
  });
});

describe('planning again on the result of a plan', () => {
  it('a rollout, pass by pass, ends with nothing left to do', () => {
    let observed = [replica('a'), replica('b')];
    expect(steps(rolling(), observed)).toEqual(['start 2×next for ro1']);
    observed = [...observed, starting('n1', null), starting('n2', null)];
    expect(steps(rolling(), observed)).toEqual(['gate n1', 'gate n2']);
    observed = [replica('a'), replica('b'), starting('n1', pending), starting('n2', passed)];
    expect(steps(rolling(), observed)).toEqual([]);
    observed = [replica('a'), replica('b'), starting('n1', passed), starting('n2', passed)];
    expect(steps(rolling(), observed)).toEqual(['switch ro1 to next [n1,n2]']);
    // The switch made `next` live, ended the rollout, served n1, n2 and began draining a, b.
    const switched = env({ desiredReleaseId: 'next', liveReleaseId: 'next' });
    const draining = (id: string, ageMs: number) => replica(id, { state: 'draining', ageMs });
    const serving = [replica('n1', { releaseId: 'next' }), replica('n2', { releaseId: 'next' })];
    expect(steps(switched, [draining('a', 0), draining('b', 0), ...serving])).toEqual([]);
    expect(steps(switched, [draining('a', 30_000), draining('b', 30_000), ...serving])).toEqual([
      'remove a gracefully: drained',
      'remove b gracefully: drained',
    ]);
    expect(steps(switched, serving)).toEqual([]);
  });

  it('a crash, pass by pass: removed, waited for, replaced, gated, served, forgiven', () => {
    let desired = env();
    expect(steps(desired, [replica('a'), replica('b', { container: 'stopped' })])).toEqual([
      'remove b gracefully: its container is stopped',
      'backoff streak 1',
    ]);
    desired = env({ restartStreak: 1, lastCrashAt: now, nextRestartAt: at(10_000) });
    expect(steps(desired, [replica('a')])).toEqual([]);
    const later = (ms: number) => ({ ...options, now: at(ms) });
    expect(steps(desired, [replica('a')], later(10_000))).toEqual(['start 1×live']);
    const r1 = (gate: GateStatus | null) => starting('r1', gate, { releaseId: 'live' });
    expect(steps(desired, [replica('a'), r1(null)], later(11_000))).toEqual(['gate r1']);
    expect(steps(desired, [replica('a'), r1(pending)], later(12_000))).toEqual([]);
    expect(steps(desired, [replica('a'), r1(passed)], later(15_000))).toEqual(['serve [r1]']);
    expect(steps(desired, [replica('a'), replica('r1')], later(16_000))).toEqual([]);
    expect(steps(desired, [replica('a'), replica('r1')], later(10 * 60_000))).toEqual(['recovered']);
    expect(steps(env(), [replica('a'), replica('r1')], later(10 * 60_000))).toEqual([]);
  });
});
