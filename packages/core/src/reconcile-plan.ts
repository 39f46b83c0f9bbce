/**
 * Where every rollout step and every repair is decided: a pure function from
 * what Postgres wants (each environment's desired and live release, its
 * active rollout) and what the runtime runs (each replica, with the health
 * gate this reconciler has been probing) to a list of actions. The worker's
 * reconciler executes the actions (apps/worker/src/deploy/reconciler.ts);
 * planning again on the result moves the environment one step further or
 * changes nothing. A rollout is:
 *
 *   start the new release's replicas → gate each (health checks pass) →
 *   switch the route to them in one transaction → the old ones drain → removed
 *
 * and a gate that fails (deadline, exit, no start) fails the rollout: its
 * replicas are removed, the desired release goes back to the live one, which
 * kept serving. Crash restarts and scaling are the same steps without a
 * rollout: a replacement of the live release starts, is gated, then serves.
 */

export interface DesiredEnvironment {
  environmentId: string;
  /** The release the environment should run; null when nothing is deployed. */
  desiredReleaseId: string | null;
  /** The release serving traffic; null until a first rollout succeeds. */
  liveReleaseId: string | null;
  /** The rollout under way (its target is the desired release), if any. */
  rollout: { id: string; toReleaseId: string } | null;
  replicas: number;
  drainTimeoutMs: number;
  restartStreak: number;
  nextRestartAt: Date | null;
  lastCrashAt: Date | null;
}

export type ObservedContainerStatus = 'running' | 'stopped' | 'missing';

/** A `starting` replica's health gate as this reconciler has probed it. */
export type GateStatus = { state: 'pending' } | { state: 'passed' } | { state: 'failed'; reason: string };

export interface ObservedReplica {
  /** The replica's row; null for a labelled container no row knows (an orphan). */
  replicaId: string | null;
  containerId: string | null;
  environmentId: string;
  releaseId: string;
  state: 'starting' | 'serving' | 'draining' | 'stopped' | null;
  container: ObservedContainerStatus;
  /** The code its container exited with, when it did and the runtime said. */
  exitCode?: number | null;
  healthy: boolean;
  /** How long the proxy has seen it failing; 0 when healthy. */
  unhealthyForMs: number;
  /** How long since it last changed state (drain start, creation). */
  ageMs: number;
  /** Its start or removal is under way in this reconciler: leave it alone. */
  busy: boolean;
  /** Its health gate, when it is `starting`; null: not probed yet by this reconciler. */
  gate: GateStatus | null;
}

export type ReconcileAction =
  | { kind: 'start'; environmentId: string; releaseId: string; count: number; rolloutId: string | null }
  | { kind: 'gate'; environmentId: string; replicaId: string }
  | { kind: 'serve'; environmentId: string; replicaIds: string[] }
  | { kind: 'switch'; environmentId: string; rolloutId: string; releaseId: string; replicaIds: string[] }
  | { kind: 'fail'; environmentId: string; rolloutId: string; replicaId: string | null; reason: string }
  | { kind: 'drain'; environmentId: string; replicaId: string; reason: string }
  | {
      kind: 'remove';
      environmentId: string;
      replicaId: string | null;
      containerId: string | null;
      reason: string;
      /**
       * SIGTERM and a grace period first: a replica that served (drained, crashed, unhealthy) or an orphan,
       * out of the route before it stops. Otherwise (a starting one, which never took traffic) removed at once.
       */
      graceful: boolean;
    }
  | { kind: 'backoff'; environmentId: string; restartStreak: number; crashedAt: Date; nextRestartAt: Date; crashLooping: boolean }
  | { kind: 'recovered'; environmentId: string };

export interface PlanOptions {
  now: Date;
  /** A serving replica failing health checks this long is replaced. */
  unhealthyAfterMs: number;
  /** Backoff of restarts: first delay, doubling up to max; reset after `resetAfterMs` without a crash. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  resetAfterMs: number;
  /** Streak at which an environment is reported crash-looping. */
  crashLoopStreak: number;
  /**
   * A starting replica with no container yet, whose start is not under way
   * here, may be another reconciler's (one that lost the lease mid-start):
   * it counts as starting this long before it is judged an interrupted start.
   */
  startGraceMs: number;
}

export const DEFAULT_PLAN_OPTIONS: Omit<PlanOptions, 'now'> = {
  unhealthyAfterMs: 30_000,
  backoffBaseMs: 10_000,
  backoffMaxMs: 5 * 60_000,
  resetAfterMs: 10 * 60_000,
  crashLoopStreak: 3,
  startGraceMs: 60_000,
};

export function backoffDelay(streak: number, options: Pick<PlanOptions, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  return Math.min(options.backoffBaseMs * 2 ** Math.max(0, streak - 1), options.backoffMaxMs);
}

export function plan(
  desired: readonly DesiredEnvironment[],
  observed: readonly ObservedReplica[],
  options: PlanOptions,
): ReconcileAction[] {
  const byEnv = new Map(desired.map((d) => [d.environmentId, d]));
  const actions: ReconcileAction[] = [];
  for (const replica of observed) {
    if (!byEnv.has(replica.environmentId) && !replica.busy)
      actions.push(remove(replica, 'its environment no longer exists', false));
  }
  for (const env of desired) {
    actions.push(
      ...planEnvironment(
        env,
        observed.filter((r) => r.environmentId === env.environmentId),
        options,
      ),
    );
  }
  return actions;
}

/** What one replica means for its environment this pass. */
type Verdict =
  | { kind: 'keep' }
  | { kind: 'alive'; replicaId: string }
  /** A starting replica of the rollout (or a replacement of the live release) whose gate is under way or passed. */
  | { kind: 'new'; replicaId: string; ready: boolean; forRollout: boolean }
  | { kind: 'gate'; replicaId: string; forRollout: boolean }
  | { kind: 'gate-failed'; replicaId: string; reason: string; forRollout: boolean }
  | { kind: 'remove'; reason: string; crash: boolean; graceful: boolean }
  | { kind: 'drain'; replicaId: string; reason: string };

function planEnvironment(env: DesiredEnvironment, replicas: readonly ObservedReplica[], options: PlanOptions): ReconcileAction[] {
  const actions: ReconcileAction[] = [];
  const rollout = env.rollout && env.rollout.toReleaseId !== env.liveReleaseId ? env.rollout : null;
  let crashes = 0;
  const alive: string[] = [];
  const rolloutNew: { replicaId: string; ready: boolean }[] = [];
  const replacements: { replicaId: string; ready: boolean }[] = [];
  let rolloutFailure: { replicaId: string; reason: string } | null = null;

  for (const replica of replicas) {
    const verdict = judge(env, rollout, replica, options);
    switch (verdict.kind) {
      case 'keep':
        break;
      case 'alive':
        alive.push(verdict.replicaId);
        break;
      case 'new':
        (verdict.forRollout ? rolloutNew : replacements).push({ replicaId: verdict.replicaId, ready: verdict.ready });
        break;
      case 'gate':
        actions.push({ kind: 'gate', environmentId: env.environmentId, replicaId: verdict.replicaId });
        (verdict.forRollout ? rolloutNew : replacements).push({ replicaId: verdict.replicaId, ready: false });
        break;
      case 'gate-failed':
        if (verdict.forRollout) {
          rolloutFailure ??= { replicaId: verdict.replicaId, reason: verdict.reason };
        } else {
          // A replacement that never gets healthy is a crash like any other: removed, and the next one waits longer.
          actions.push(remove(replica, verdict.reason, false));
          crashes += 1;
        }
        break;
      case 'remove':
        actions.push(remove(replica, verdict.reason, verdict.graceful));
        if (verdict.crash) crashes += 1;
        break;
      case 'drain':
        actions.push({ kind: 'drain', environmentId: env.environmentId, replicaId: verdict.replicaId, reason: verdict.reason });
        break;
    }
  }

  if (env.rollout && !rollout) {
    // A rollout to the release already live (a promotion of what runs): done at once, nothing to start.
    actions.push({
      kind: 'switch',
      environmentId: env.environmentId,
      rolloutId: env.rollout.id,
      releaseId: env.rollout.toReleaseId,
      replicaIds: [],
    });
  }
  if (rollout) {
    actions.push(...planRollout(env, rollout, rolloutNew, rolloutFailure));
    // The live release keeps serving meanwhile; what crashed in it is replaced by the rollout, not restarted.
    return actions;
  }
  if (env.liveReleaseId === null) return actions;

  const now = options.now.getTime();
  const ready = replacements.filter((r) => r.ready).map((r) => r.replicaId);
  if (ready.length > 0) actions.push({ kind: 'serve', environmentId: env.environmentId, replicaIds: ready });
  if (crashes > 0) {
    const streak = env.restartStreak + 1;
    actions.push({
      kind: 'backoff',
      environmentId: env.environmentId,
      restartStreak: streak,
      crashedAt: options.now,
      nextRestartAt: new Date(now + backoffDelay(streak, options)),
      crashLooping: streak >= options.crashLoopStreak,
    });
    return actions;
  }
  const serving = [...alive, ...ready];
  for (const replicaId of serving.slice(env.replicas)) {
    actions.push({ kind: 'drain', environmentId: env.environmentId, replicaId, reason: 'scaled down' });
  }
  const missing = env.replicas - serving.length - replacements.filter((r) => !r.ready).length;
  const mayRestart = env.nextRestartAt === null || env.nextRestartAt.getTime() <= now;
  if (missing > 0 && mayRestart) {
    actions.push({
      kind: 'start',
      environmentId: env.environmentId,
      releaseId: env.liveReleaseId,
      count: missing,
      rolloutId: null,
    });
  }
  const quiet = env.lastCrashAt === null || now - env.lastCrashAt.getTime() >= options.resetAfterMs;
  if (env.restartStreak > 0 && quiet && missing <= 0) actions.push({ kind: 'recovered', environmentId: env.environmentId });
  return actions;
}

/** The next step of a rollout: fail it, switch to it, or start what it still lacks. */
function planRollout(
  env: DesiredEnvironment,
  rollout: { id: string; toReleaseId: string },
  replicas: readonly { replicaId: string; ready: boolean }[],
  failure: { replicaId: string; reason: string } | null,
): ReconcileAction[] {
  const base = { environmentId: env.environmentId, rolloutId: rollout.id };
  if (failure) return [{ kind: 'fail', ...base, replicaId: failure.replicaId, reason: failure.reason }];
  const ready = replicas.filter((r) => r.ready).map((r) => r.replicaId);
  if (ready.length === replicas.length && ready.length >= env.replicas) {
    return [{ kind: 'switch', ...base, releaseId: rollout.toReleaseId, replicaIds: ready }];
  }
  const missing = env.replicas - replicas.length;
  return missing > 0
    ? [{ kind: 'start', environmentId: env.environmentId, releaseId: rollout.toReleaseId, count: missing, rolloutId: rollout.id }]
    : [];
}

function judge(
  env: DesiredEnvironment,
  rollout: { id: string; toReleaseId: string } | null,
  replica: ObservedReplica,
  options: PlanOptions,
): Verdict {
  if (replica.replicaId === null) {
    return replica.busy
      ? { kind: 'keep' }
      : { kind: 'remove', reason: 'no replica record (orphaned container)', crash: false, graceful: true };
  }
  const replicaId = replica.replicaId;
  if (replica.busy) {
    // Its start (or removal) is under way: left alone, but a starting one counts, or the next pass would start another.
    const counts =
      replica.state === 'starting' &&
      (rollout ? replica.releaseId === rollout.toReleaseId : replica.releaseId === env.liveReleaseId);
    return counts ? { kind: 'new', replicaId, ready: false, forRollout: rollout !== null } : { kind: 'keep' };
  }
  switch (replica.state) {
    case 'serving':
      if (replica.releaseId !== env.liveReleaseId)
        return { kind: 'drain', replicaId, reason: 'serves a release that is not live' };
      if (replica.container !== 'running')
        return { kind: 'remove', reason: `its container is ${replica.container}`, crash: true, graceful: true };
      if (!replica.healthy && replica.unhealthyForMs >= options.unhealthyAfterMs) {
        return {
          kind: 'remove',
          reason: `unhealthy for ${Math.round(replica.unhealthyForMs / 1000)} s`,
          crash: true,
          graceful: true,
        };
      }
      return { kind: 'alive', replicaId };
    case 'draining':
      return replica.ageMs >= env.drainTimeoutMs
        ? { kind: 'remove', reason: 'drained', crash: false, graceful: true }
        : { kind: 'keep' };
    case 'starting': {
      const forRollout = rollout !== null && replica.releaseId === rollout.toReleaseId;
      const replacement = rollout === null && replica.releaseId === env.liveReleaseId;
      if (!forRollout && !replacement) {
        const reason =
          replica.releaseId === env.liveReleaseId ? 'a rollout replaces its release' : 'its release is no longer wanted here';
        return { kind: 'remove', reason, crash: false, graceful: false };
      }
      if (replica.container === 'missing' && replica.gate?.state !== 'failed') {
        // Not busy here: another reconciler's start still under way (it counts meanwhile), or, once older than
        // the grace, a start cut short by a reconciler that stopped.
        if (replica.containerId === null && replica.ageMs < options.startGraceMs) {
          return { kind: 'new', replicaId, ready: false, forRollout };
        }
        return { kind: 'remove', reason: 'its start was interrupted', crash: false, graceful: false };
      }
      if (replica.gate?.state === 'failed') return { kind: 'gate-failed', replicaId, reason: replica.gate.reason, forRollout };
      if (replica.container === 'stopped') {
        const code = replica.exitCode === undefined || replica.exitCode === null ? '' : ` with code ${replica.exitCode}`;
        const reason = `the container exited${code} before it passed its health check`;
        return { kind: 'gate-failed', replicaId, reason, forRollout };
      }
      if (replica.gate === null) return { kind: 'gate', replicaId, forRollout };
      return { kind: 'new', replicaId, ready: replica.gate.state === 'passed', forRollout };
    }
    default:
      return { kind: 'remove', reason: 'stopped', crash: false, graceful: false };
  }
}

function remove(replica: ObservedReplica, reason: string, graceful: boolean): ReconcileAction {
  return {
    kind: 'remove',
    environmentId: replica.environmentId,
    replicaId: replica.replicaId,
    containerId: replica.containerId,
    reason,
    graceful,
  };
}
