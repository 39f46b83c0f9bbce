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
 *
 * Only `web` replicas take that path. Every other process type of the live
 * release (a worker, a clock) is planned by `planProcesses`
 * (process-plan.ts): no route and no gate, started from the live release once
 * it is live, restarted with its own backoff, stopped with SIGTERM and a grace.
 * An environment whose web process mounts a single-writer volume never runs two
 * releases on it: its rollout takes the old replica out of the route and stops
 * it before the new one starts (the proxy holds requests meanwhile).
 */
import { planProcesses } from './process-plan.ts';
import {
  backoffDelay,
  type DesiredEnvironment,
  exitOf,
  exitReason,
  type ObservedReplica,
  type PlanOptions,
  type ReconcileAction,
  remove,
  singleWriter,
  WEB_PROCESS,
} from './reconcile-model.ts';

export * from './reconcile-model.ts';

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
    const replicas = observed.filter((r) => r.environmentId === env.environmentId);
    // A single-writer volume has one writer: web runs one replica while it mounts one.
    const web = singleWriter(env, WEB_PROCESS) ? { ...env, replicas: Math.min(env.replicas, 1) } : env;
    actions.push(...planEnvironment(web, replicas.filter(isWeb), options));
    actions.push(
      ...planProcesses(
        env,
        replicas.filter((r) => !isWeb(r)),
        options,
      ),
    );
  }
  return actions;
}

function isWeb(replica: ObservedReplica): boolean {
  return (replica.processType ?? WEB_PROCESS) === WEB_PROCESS;
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

/**
 * An old replica on a single-writer volume is out of the route this long
 * before it is stopped (requests in flight finish; the proxy holds new ones),
 * instead of the environment's whole drain timeout: the new one waits for it.
 */
export const SINGLE_WRITER_DRAIN_MS = 2000;

function planEnvironment(env: DesiredEnvironment, replicas: readonly ObservedReplica[], options: PlanOptions): ReconcileAction[] {
  const actions: ReconcileAction[] = [];
  const rollout = env.rollout && env.rollout.toReleaseId !== env.liveReleaseId ? env.rollout : null;
  let crashes = 0;
  let crash: { reason: string; replica: ObservedReplica } | null = null;
  const alive: string[] = [];
  /** Web replicas of another release than the rollout's: a single-writer rollout starts nothing while one is left. */
  let others = 0;
  const rolloutNew: { replicaId: string; ready: boolean }[] = [];
  const replacements: { replicaId: string; ready: boolean }[] = [];
  let rolloutFailure: { replicaId: string; reason: string } | null = null;

  for (const replica of replicas) {
    if (rollout && replica.releaseId !== rollout.toReleaseId) others += 1;
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
          crash = { reason: verdict.reason, replica };
        }
        break;
      case 'remove':
        actions.push(remove(replica, verdict.reason, verdict.graceful));
        if (verdict.crash) {
          crashes += 1;
          crash = { reason: verdict.reason, replica };
        }
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
    if (singleWriter(env, WEB_PROCESS)) {
      // Never two releases on one single-writer volume: the old replicas leave the route and stop first.
      for (const replicaId of alive) {
        const reason = 'the new release needs its single-writer volume';
        actions.push({ kind: 'drain', environmentId: env.environmentId, replicaId, reason });
      }
      if (others > 0) return actions;
    }
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
      ...(crash ? { reason: crash.reason, ...exitOf(crash.replica) } : {}),
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
      if (replica.container !== 'running') return { kind: 'remove', reason: exitReason(replica), crash: true, graceful: true };
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
      return replica.ageMs >= drainTimeoutMs(env, rollout)
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
        const limit = replica.memoryMb ? ` at ${replica.memoryMb} MiB` : '';
        const reason = replica.oomKilled
          ? `the container ran out of memory${limit} before it passed its health check: raise memoryMb`
          : `the container exited${code} before it passed its health check`;
        return { kind: 'gate-failed', replicaId, reason, forRollout };
      }
      if (replica.gate === null) return { kind: 'gate', replicaId, forRollout };
      return { kind: 'new', replicaId, ready: replica.gate.state === 'passed', forRollout };
    }
    default:
      return { kind: 'remove', reason: 'stopped', crash: false, graceful: false };
  }
}

function drainTimeoutMs(env: DesiredEnvironment, rollout: { toReleaseId: string } | null): number {
  return rollout && singleWriter(env, WEB_PROCESS) ? Math.min(env.drainTimeoutMs, SINGLE_WRITER_DRAIN_MS) : env.drainTimeoutMs;
}
