import {
  backoffDelay,
  type DesiredEnvironment,
  type DesiredProcess,
  exitOf,
  exitReason,
  type ObservedReplica,
  type PlanOptions,
  type ReconcileAction,
  remove,
  singleWriter,
} from './reconcile-model.ts';

/**
 * The plan of every process type other than web (reconcile-plan.ts plans
 * web): replicas of the live release, with no route and no health gate. A
 * replica counts once its container runs (`serve` marks it running); one that
 * exits is a crash of its type, removed and replaced after the type's own
 * backoff. When the live release changes (a rollout switched: the new web
 * replicas passed their gates), the old release's replicas stop with SIGTERM
 * and a grace while the new ones start; a type on a single-writer volume
 * starts its new replica only once the old one is gone. During a rollout the
 * live release's processes keep running. Extra replicas (scaled down, or a
 * type the live release no longer has) stop gracefully.
 */
export function planProcesses(
  env: DesiredEnvironment,
  replicas: readonly ObservedReplica[],
  options: PlanOptions,
): ReconcileAction[] {
  const types = new Set([...(env.processes ?? []).map((p) => p.type), ...replicas.map((r) => r.processType ?? '')]);
  const actions: ReconcileAction[] = [];
  for (const type of types) {
    if (type === '') continue;
    const desired = env.liveReleaseId ? env.processes?.find((p) => p.type === type) : undefined;
    actions.push(
      ...planType(
        env,
        type,
        desired,
        replicas.filter((r) => r.processType === type),
        options,
      ),
    );
  }
  return actions;
}

function planType(
  env: DesiredEnvironment,
  type: string,
  desired: DesiredProcess | undefined,
  replicas: readonly ObservedReplica[],
  options: PlanOptions,
): ReconcileAction[] {
  const actions: ReconcileAction[] = [];
  const running: string[] = [];
  const starting: string[] = [];
  const started: string[] = [];
  let stale = 0;
  let crash: { replica: ObservedReplica; reason: string } | null = null;
  for (const replica of replicas) {
    if (replica.busy) {
      if (replica.replicaId && replica.state === 'starting' && replica.releaseId === env.liveReleaseId && desired) {
        starting.push(replica.replicaId);
      } else {
        // Being stopped (of any release, or an orphan): a single-writer volume is not free until it is gone.
        stale += 1;
      }
      continue;
    }
    if (replica.replicaId === null) {
      actions.push(remove(replica, 'no replica record (orphaned container)', true));
      stale += 1;
      continue;
    }
    if (!desired || replica.releaseId !== env.liveReleaseId) {
      const reason = desired ? 'its release is no longer live' : `the live release has no ${type} process`;
      actions.push(remove(replica, reason, replica.container === 'running'));
      stale += 1;
      continue;
    }
    if (replica.gate?.state === 'failed') {
      // Its start failed (the runtime refused the container): a crash like an exit, so the next one backs off.
      actions.push(remove(replica, replica.gate.reason, false));
      crash = { replica, reason: replica.gate.reason };
      continue;
    }
    if (replica.container === 'missing') {
      if (replica.state === 'starting' && replica.containerId === null && replica.ageMs < options.startGraceMs) {
        starting.push(replica.replicaId);
      } else {
        actions.push(remove(replica, replica.state === 'starting' ? 'its start was interrupted' : exitReason(replica), false));
        if (replica.state !== 'starting') crash = { replica, reason: exitReason(replica) };
      }
      continue;
    }
    if (replica.container === 'stopped') {
      actions.push(remove(replica, exitReason(replica), false));
      crash = { replica, reason: exitReason(replica) };
      continue;
    }
    if (replica.state === 'starting') started.push(replica.replicaId);
    else if (replica.state === 'serving') running.push(replica.replicaId);
    else actions.push(remove(replica, 'stopped', true));
  }
  if (!desired || env.liveReleaseId === null) return actions;

  const base = { environmentId: env.environmentId, processType: type };
  if (started.length > 0) actions.push({ kind: 'serve', environmentId: env.environmentId, replicaIds: started });
  const now = options.now.getTime();
  if (crash) {
    const streak = desired.restartStreak + 1;
    actions.push({
      kind: 'backoff',
      ...base,
      restartStreak: streak,
      crashedAt: options.now,
      nextRestartAt: new Date(now + backoffDelay(streak, options)),
      crashLooping: streak >= options.crashLoopStreak,
      reason: crash.reason,
      ...exitOf(crash.replica),
    });
    return actions;
  }
  const alive = [...running, ...started];
  // A single-writer volume has one writer: never more than one replica of a type that mounts one.
  const wanted = singleWriter(env, type) ? Math.min(desired.replicas, 1) : desired.replicas;
  for (const replica of replicas) {
    if (replica.replicaId && alive.slice(wanted).includes(replica.replicaId)) {
      actions.push(remove(replica, 'scaled down', true));
    }
  }
  const missing = wanted - alive.length - starting.length;
  const mayRestart = desired.nextRestartAt === null || desired.nextRestartAt.getTime() <= now;
  const volumeFree = !singleWriter(env, type) || stale === 0;
  if (missing > 0 && mayRestart && volumeFree) {
    actions.push({ kind: 'start', ...base, releaseId: env.liveReleaseId, count: missing, rolloutId: null });
  }
  const quiet = desired.lastCrashAt === null || now - desired.lastCrashAt.getTime() >= options.resetAfterMs;
  if (desired.restartStreak > 0 && quiet && missing <= 0) actions.push({ kind: 'recovered', ...base });
  return actions;
}
