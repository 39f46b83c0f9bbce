import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLAN_OPTIONS,
  type DesiredEnvironment,
  type DesiredProcess,
  type ObservedReplica,
  type PlanOptions,
  plan,
  type ReconcileAction,
} from './reconcile-plan.ts';

// One environment, e1, whose live release `live` runs web (no web replicas here, so the
// web plan is quiet) and a `worker` type; w1, w2… are worker replicas.

const now = new Date('2026-01-01T12:00:00Z');
const options: PlanOptions = { ...DEFAULT_PLAN_OPTIONS, now };

function worker(overrides: Partial<DesiredProcess> = {}): DesiredProcess {
  return { type: 'worker', replicas: 2, restartStreak: 0, nextRestartAt: null, lastCrashAt: null, ...overrides };
}

function env(overrides: Partial<DesiredEnvironment> = {}): DesiredEnvironment {
  return {
    environmentId: 'e1',
    desiredReleaseId: 'live',
    liveReleaseId: 'live',
    rollout: null,
    replicas: 0,
    drainTimeoutMs: 30_000,
    restartStreak: 0,
    nextRestartAt: null,
    lastCrashAt: null,
    processes: [worker()],
    ...overrides,
  };
}

/** A running worker replica of `live` unless overridden. */
function w(id: string, overrides: Partial<ObservedReplica> = {}): ObservedReplica {
  return {
    replicaId: id,
    containerId: `c-${id}`,
    environmentId: 'e1',
    releaseId: 'live',
    processType: 'worker',
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

function summary(action: ReconcileAction): string {
  switch (action.kind) {
    case 'start':
      return `start ${action.count}×${action.releaseId} ${action.processType ?? 'web'}`;
    case 'serve':
      return `serve [${action.replicaIds.join(',')}]`;
    case 'remove':
      return `remove ${action.replicaId ?? action.containerId}${action.graceful ? ' gracefully' : ''}: ${action.reason}`;
    case 'backoff':
      return `backoff ${action.processType ?? 'web'} streak ${action.restartStreak}: ${action.reason ?? ''}`;
    case 'recovered':
      return `recovered ${action.processType ?? 'web'}`;
    default:
      return action.kind;
  }
}

function steps(desired: DesiredEnvironment, observed: ObservedReplica[], planOptions: PlanOptions = options): string[] {
  return plan([desired], observed, planOptions).map(summary);
}

type Case = [name: string, desired: DesiredEnvironment, observed: ObservedReplica[], expected: string[]];

describe('process types other than web', () => {
  it.each<Case>([
    ['nothing to do when every worker runs', env(), [w('w1'), w('w2')], []],
    ['starts the missing workers of the live release', env(), [w('w1')], ['start 1×live worker']],
    ['a release without web starts its workers and no web replica', env(), [], ['start 2×live worker']],
    ['nothing deployed: nothing started', env({ liveReleaseId: null, desiredReleaseId: null }), [], []],
    [
      'a started worker whose container runs counts as running (no gate)',
      env(),
      [w('w1'), w('w2', { state: 'starting', ageMs: 500 })],
      ['serve [w2]'],
    ],
    [
      'a worker whose start is under way counts: no second start',
      env(),
      [w('w1'), w('w2', { state: 'starting', container: 'missing', containerId: null, busy: true })],
      [],
    ],
    [
      'an exited worker is removed and its type backs off, naming the exit code',
      env(),
      [w('w1'), w('w2', { container: 'stopped', exitCode: 2 })],
      ['remove w2: it exited with code 2', 'backoff worker streak 1: it exited with code 2'],
    ],
    [
      'a worker killed for its memory is reported as out of memory at its limit',
      env(),
      [w('w1'), w('w2', { container: 'stopped', exitCode: 137, oomKilled: true, memoryMb: 64 })],
      ['remove w2: out of memory at 64 MiB: raise memoryMb', 'backoff worker streak 1: out of memory at 64 MiB: raise memoryMb'],
    ],
    [
      'no restart before the type’s nextRestartAt',
      env({ processes: [worker({ restartStreak: 1, nextRestartAt: new Date(now.getTime() + 5000), lastCrashAt: now })] }),
      [w('w1')],
      [],
    ],
    [
      'a web crash streak does not hold the workers back',
      env({ restartStreak: 3, nextRestartAt: new Date(now.getTime() + 60_000), lastCrashAt: now }),
      [w('w1')],
      ['start 1×live worker'],
    ],
    [
      'recovered after resetAfterMs without a crash',
      env({ processes: [worker({ restartStreak: 2, lastCrashAt: new Date(now.getTime() - 11 * 60_000) })] }),
      [w('w1'), w('w2')],
      ['recovered worker'],
    ],
    [
      'scaled down: the extras stop gracefully',
      env({ processes: [worker({ replicas: 1 })] }),
      [w('w1'), w('w2')],
      ['remove w2 gracefully: scaled down'],
    ],
    [
      'scaled to zero: all stop',
      env({ processes: [worker({ replicas: 0 })] }),
      [w('w1'), w('w2')],
      ['remove w1 gracefully: scaled down', 'remove w2 gracefully: scaled down'],
    ],
    [
      'a new live release: the old workers stop gracefully and the new ones start together',
      env({ liveReleaseId: 'next', desiredReleaseId: 'next' }),
      [w('w1'), w('w2')],
      [
        'remove w1 gracefully: its release is no longer live',
        'remove w2 gracefully: its release is no longer live',
        'start 2×next worker',
      ],
    ],
    [
      'on a single-writer volume, the new worker starts only once the old one is gone',
      env({
        liveReleaseId: 'next',
        desiredReleaseId: 'next',
        singleWriterTypes: ['worker'],
        processes: [worker({ replicas: 1 })],
      }),
      [w('w1')],
      ['remove w1 gracefully: its release is no longer live'],
    ],
    [
      '… and starts it the pass after',
      env({
        liveReleaseId: 'next',
        desiredReleaseId: 'next',
        singleWriterTypes: ['worker'],
        processes: [worker({ replicas: 1 })],
      }),
      [],
      ['start 1×next worker'],
    ],
    [
      'during a rollout the live release’s workers keep running; the new ones wait for the switch',
      env({ replicas: 1, desiredReleaseId: 'next', rollout: { id: 'ro1', toReleaseId: 'next' } }),
      [w('w1'), w('w2')],
      ['start 1×next web'],
    ],
    [
      'a worker whose start the runtime refused is a crash: removed, and its type backs off with the reason',
      env(),
      [
        w('w1'),
        w('w2', {
          state: 'starting',
          container: 'missing',
          containerId: null,
          gate: { state: 'failed', reason: 'the replica could not start: range of CPUs is from 0.01 to 2.00' },
        }),
      ],
      [
        'remove w2: the replica could not start: range of CPUs is from 0.01 to 2.00',
        'backoff worker streak 1: the replica could not start: range of CPUs is from 0.01 to 2.00',
      ],
    ],
    [
      'on a single-writer volume a type runs one replica, whatever its count says',
      env({ singleWriterTypes: ['worker'], processes: [worker({ replicas: 3 })] }),
      [w('w1'), w('w2')],
      ['remove w2 gracefully: scaled down'],
    ],
    [
      'on a single-writer volume, a replica still being stopped (scaled to 0 and back) holds the volume: no start yet',
      env({ singleWriterTypes: ['worker'], processes: [worker({ replicas: 1 })] }),
      [w('w1', { busy: true })],
      [],
    ],
    [
      'a type the live release no longer has stops',
      env({ processes: [] }),
      [w('w1')],
      ['remove w1 gracefully: the live release has no worker process'],
    ],
    [
      'an orphaned worker container is removed gracefully',
      env(),
      [w('w1'), w('w2'), w('x', { replicaId: null, state: null })],
      ['remove c-x gracefully: no replica record (orphaned container)'],
    ],
  ])('%s', (_name, desired, observed, expected) => {
    expect(steps(desired, observed)).toEqual(expected);
  });

  it('web and the other types are planned apart: a web rollout does not touch the workers', () => {
    const desired = env({ replicas: 1, desiredReleaseId: 'next', rollout: { id: 'ro1', toReleaseId: 'next' } });
    const web: ObservedReplica = { ...w('a'), processType: 'web' };
    expect(steps(desired, [web, w('w1'), w('w2')])).toEqual(['start 1×next web']);
  });

  it('web on a single-writer volume runs one replica: the others drain', () => {
    const desired = env({ replicas: 3, processes: [], singleWriterTypes: ['web'] });
    const web = (id: string): ObservedReplica => ({ ...w(id), processType: 'web' });
    expect(plan([desired], [web('a'), web('b')], options).map((a) => `${a.kind} ${'replicaId' in a ? a.replicaId : ''}`)).toEqual(
      ['drain b'],
    );
  });

  it('web on a single-writer volume: the rollout drains the old replica first and starts the new one once it is gone', () => {
    const desired = env({
      replicas: 1,
      processes: [],
      singleWriterTypes: ['web'],
      desiredReleaseId: 'next',
      rollout: { id: 'ro1', toReleaseId: 'next' },
    });
    const web: ObservedReplica = { ...w('a'), processType: 'web' };
    expect(plan([desired], [web], options).map((a) => a.kind)).toEqual(['drain']);
    const draining: ObservedReplica = { ...web, state: 'draining', ageMs: 500 };
    expect(plan([desired], [draining], options)).toEqual([]);
    // Out of the route for SINGLE_WRITER_DRAIN_MS (not the whole drain timeout): stopped gracefully.
    const drained: ObservedReplica = { ...web, state: 'draining', ageMs: 2500 };
    expect(steps(desired, [drained])).toEqual(['remove a gracefully: drained']);
    expect(steps(desired, [])).toEqual(['start 1×next web']);
  });
});
