import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_PLAN_OPTIONS,
  type DesiredEnvironment,
  type ObservedReplica,
  plan,
  type ReconcileAction,
} from './reconcile-plan.ts';

const now = new Date('2026-01-01T12:00:00Z');
const options = { ...DEFAULT_PLAN_OPTIONS, now };

function env(overrides: Partial<DesiredEnvironment> = {}): DesiredEnvironment {
  return {
    environmentId: 'e1',
    releaseId: 'r2',
    replicas: 2,
    drainTimeoutMs: 30_000,
    deployInProgress: false,
    restartStreak: 0,
    nextRestartAt: null,
    lastCrashAt: null,
    ...overrides,
  };
}

function replica(id: string, overrides: Partial<ObservedReplica> = {}): ObservedReplica {
  return {
    replicaId: id,
    containerId: `c-${id}`,
    environmentId: 'e1',
    releaseId: 'r2',
    state: 'serving',
    container: 'running',
    healthy: true,
    unhealthyForMs: 0,
    ageMs: 60_000,
    ...overrides,
  };
}

const kinds = (actions: ReconcileAction[]) =>
  actions.map((a) => `${a.kind}:${'replicaId' in a ? a.replicaId : 'count' in a ? a.count : ''}`);

describe('plan', () => {
  it.each<[string, DesiredEnvironment, ObservedReplica[], string[]]>([
    ['steady state: nothing to do', env(), [replica('a'), replica('b')], []],
    ['a missing replica is started', env(), [replica('a')], ['start:1']],
    ['nothing deployed: nothing started', env({ releaseId: null }), [], []],
    [
      'an exited container is removed and backoff begins',
      env(),
      [replica('a'), replica('b', { container: 'stopped' })],
      ['remove:b', 'backoff:'],
    ],
    [
      'a vanished container counts as a crash',
      env(),
      [replica('a'), replica('b', { container: 'missing' })],
      ['remove:b', 'backoff:'],
    ],
    ['briefly unhealthy is tolerated', env(), [replica('a'), replica('b', { healthy: false, unhealthyForMs: 5_000 })], []],
    [
      'persistently unhealthy is replaced',
      env(),
      [replica('a'), replica('b', { healthy: false, unhealthyForMs: 31_000 })],
      ['remove:b', 'backoff:'],
    ],
    [
      'within backoff, no restart',
      env({ nextRestartAt: new Date(now.getTime() + 5_000), restartStreak: 1, lastCrashAt: now }),
      [replica('a')],
      [],
    ],
    [
      'after backoff, restart',
      env({ nextRestartAt: new Date(now.getTime() - 1), restartStreak: 1, lastCrashAt: now }),
      [replica('a')],
      ['start:1'],
    ],
    [
      'a rollout in progress owns the environment',
      env({ deployInProgress: true }),
      [replica('a'), replica('n', { state: 'starting', releaseId: 'r3', ageMs: 1 })],
      [],
    ],
    [
      'draining replicas are kept during the drain',
      env(),
      [replica('a'), replica('b'), replica('o', { state: 'draining', releaseId: 'r1', ageMs: 10_000 })],
      [],
    ],
    [
      'drained replicas are removed',
      env(),
      [replica('a'), replica('b'), replica('o', { state: 'draining', releaseId: 'r1', ageMs: 46_000 })],
      ['remove:o'],
    ],
    [
      'leftovers of an interrupted rollout are removed',
      env(),
      [replica('a'), replica('b'), replica('s', { state: 'starting', releaseId: 'r3', ageMs: 11 * 60_000 })],
      ['remove:s'],
    ],
    ['an orphaned container is removed', env(), [replica('a'), replica('b'), replica('x', { replicaId: null })], ['remove:null']],
    [
      'a serving replica of an old release goes',
      env(),
      [replica('a'), replica('b'), replica('old', { releaseId: 'r1' })],
      ['remove:old'],
    ],
    ['scaling down drains the extras', env({ replicas: 1 }), [replica('a'), replica('b')], ['drain:b']],
    ['scaling to zero drains all', env({ replicas: 0 }), [replica('a'), replica('b')], ['drain:a', 'drain:b']],
    [
      'after ten quiet minutes the streak resets',
      env({ restartStreak: 3, lastCrashAt: new Date(now.getTime() - 11 * 60_000) }),
      [replica('a'), replica('b')],
      ['recovered:'],
    ],
    [
      'a recent crash keeps the streak',
      env({ restartStreak: 3, lastCrashAt: new Date(now.getTime() - 60_000) }),
      [replica('a'), replica('b')],
      [],
    ],
  ])('%s', (_name, desired, observed, expected) => {
    expect(kinds(plan([desired], observed, options))).toEqual(expected);
  });

  it('removes containers of environments that no longer exist', () => {
    const stray = replica('z', { environmentId: 'gone' });
    expect(plan([], [stray], options)).toEqual([
      { kind: 'remove', environmentId: 'gone', replicaId: 'z', containerId: 'c-z', reason: 'its environment no longer exists' },
    ]);
  });

  it('backs off exponentially from 10 s to 5 min and flags a crash loop at the third crash', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((s) => backoffDelay(s, options) / 1000)).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
    const [, backoff] = plan([env({ restartStreak: 2 })], [replica('a'), replica('b', { container: 'stopped' })], options);
    expect(backoff).toEqual({
      kind: 'backoff',
      environmentId: 'e1',
      restartStreak: 3,
      crashedAt: now,
      nextRestartAt: new Date(now.getTime() + 40_000),
      crashLooping: true,
    });
  });

  it('is idempotent: planning the outcome of a plan asks for nothing more', () => {
    const desired = env();
    const first = plan([desired], [replica('a')], options);
    expect(first).toEqual([{ kind: 'start', environmentId: 'e1', releaseId: 'r2', count: 1 }]);
    expect(plan([desired], [replica('a'), replica('new')], options)).toEqual([]);
  });
});
