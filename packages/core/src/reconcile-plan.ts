/**
 * The reconciler's brain, a pure function: what Postgres wants versus what
 * Docker runs, in, a list of actions, out. The worker executes the actions;
 * running the plan again on the result changes nothing (idempotent).
 */

export interface DesiredEnvironment {
  environmentId: string;
  /** The live release; null when nothing is deployed. */
  releaseId: string | null;
  replicas: number;
  drainTimeoutMs: number;
  /** A rollout is running: it owns the environment's replicas until it ends. */
  deployInProgress: boolean;
  restartStreak: number;
  nextRestartAt: Date | null;
  lastCrashAt: Date | null;
}

export type ObservedContainerStatus = 'running' | 'stopped' | 'missing';

export interface ObservedReplica {
  /** The replica's row; null for a labelled container no row knows (an orphan). */
  replicaId: string | null;
  containerId: string | null;
  environmentId: string;
  releaseId: string;
  state: 'starting' | 'serving' | 'draining' | 'stopped' | null;
  container: ObservedContainerStatus;
  healthy: boolean;
  /** How long the proxy has seen it failing; 0 when healthy. */
  unhealthyForMs: number;
  /** How long since it last changed state (drain start, creation). */
  ageMs: number;
}

export type ReconcileAction =
  | { kind: 'remove'; environmentId: string; replicaId: string | null; containerId: string | null; reason: string }
  | { kind: 'start'; environmentId: string; releaseId: string; count: number }
  | { kind: 'drain'; environmentId: string; replicaId: string; reason: string }
  | { kind: 'backoff'; environmentId: string; restartStreak: number; crashedAt: Date; nextRestartAt: Date; crashLooping: boolean }
  | { kind: 'recovered'; environmentId: string };

export interface PlanOptions {
  now: Date;
  /** A serving replica failing health checks this long is replaced. */
  unhealthyAfterMs: number;
  /** A `starting` replica with no rollout in progress is a leftover after this long. */
  startingTimeoutMs: number;
  /** Backoff of restarts: first delay, doubling up to max; reset after `resetAfterMs` without a crash. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  resetAfterMs: number;
  /** Streak at which an environment is reported crash-looping. */
  crashLoopStreak: number;
}

export const DEFAULT_PLAN_OPTIONS: Omit<PlanOptions, 'now'> = {
  unhealthyAfterMs: 30_000,
  startingTimeoutMs: 10 * 60_000,
  backoffBaseMs: 10_000,
  backoffMaxMs: 5 * 60_000,
  resetAfterMs: 10 * 60_000,
  crashLoopStreak: 3,
};

/** Beyond its drain timeout, a draining replica gets this long for its rollout to stop it before the reconciler does. */
export const DRAIN_MARGIN_MS = 15_000;

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
    if (!byEnv.has(replica.environmentId)) actions.push(remove(replica, 'its environment no longer exists'));
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

function planEnvironment(env: DesiredEnvironment, replicas: readonly ObservedReplica[], options: PlanOptions): ReconcileAction[] {
  const actions: ReconcileAction[] = [];
  let crashes = 0;
  const aliveIds: string[] = [];
  for (const replica of replicas) {
    const verdict = judge(env, replica, options);
    if (verdict === 'alive') aliveIds.push(replica.replicaId as string);
    else if (verdict !== 'keep') {
      actions.push(remove(replica, verdict.reason));
      if (verdict.crash) crashes += 1;
    }
  }
  if (env.deployInProgress || env.releaseId === null) return actions;
  const now = options.now.getTime();
  if (crashes > 0) {
    const streak = env.restartStreak + 1;
    const nextRestartAt = new Date(now + backoffDelay(streak, options));
    actions.push({
      kind: 'backoff',
      environmentId: env.environmentId,
      restartStreak: streak,
      crashedAt: options.now,
      nextRestartAt,
      crashLooping: streak >= options.crashLoopStreak,
    });
    return actions;
  }
  const alive = aliveIds.length;
  for (const replicaId of aliveIds.slice(env.replicas)) {
    actions.push({ kind: 'drain', environmentId: env.environmentId, replicaId, reason: 'scaled down' });
  }
  const missing = env.replicas - alive;
  const mayRestart = env.nextRestartAt === null || env.nextRestartAt.getTime() <= now;
  if (missing > 0 && mayRestart)
    actions.push({ kind: 'start', environmentId: env.environmentId, releaseId: env.releaseId, count: missing });
  const quiet = env.lastCrashAt === null || now - env.lastCrashAt.getTime() >= options.resetAfterMs;
  if (env.restartStreak > 0 && quiet && missing <= 0) actions.push({ kind: 'recovered', environmentId: env.environmentId });
  return actions;
}

type Verdict = 'alive' | 'keep' | { reason: string; crash: boolean };

function judge(env: DesiredEnvironment, replica: ObservedReplica, options: PlanOptions): Verdict {
  if (replica.replicaId === null) return { reason: 'no replica record (orphaned container)', crash: false };
  switch (replica.state) {
    case 'serving':
      if (replica.releaseId !== env.releaseId)
        return env.deployInProgress ? 'keep' : { reason: 'serves a release that is not live', crash: false };
      if (replica.container !== 'running') return { reason: `its container is ${replica.container}`, crash: true };
      if (!replica.healthy && replica.unhealthyForMs >= options.unhealthyAfterMs) {
        return { reason: `unhealthy for ${Math.round(replica.unhealthyForMs / 1000)} s`, crash: true };
      }
      return 'alive';
    case 'draining':
      // The rollout that started the drain stops them itself; this catches the rest (scale-down, a crashed worker).
      return replica.ageMs >= env.drainTimeoutMs + DRAIN_MARGIN_MS ? { reason: 'drained', crash: false } : 'keep';
    case 'starting':
      if (env.deployInProgress) return 'keep';
      return replica.ageMs >= options.startingTimeoutMs
        ? { reason: 'left starting by an interrupted rollout', crash: false }
        : 'keep';
    default:
      return { reason: 'stopped', crash: false };
  }
}

function remove(replica: ObservedReplica, reason: string): ReconcileAction {
  return {
    kind: 'remove',
    environmentId: replica.environmentId,
    replicaId: replica.replicaId,
    containerId: replica.containerId,
    reason,
  };
}
