/** What the planner reads and what it decides: shared by the web plan (reconcile-plan.ts) and that of the other process types (process-plan.ts). */

/** The process type that gets the routes, the health gate and the rolling cutover. */
export const WEB_PROCESS = 'web';

/** A process type other than web that the live release runs, with its crash streak. */
export interface DesiredProcess {
  type: string;
  replicas: number;
  restartStreak: number;
  nextRestartAt: Date | null;
  lastCrashAt: Date | null;
}

export interface DesiredEnvironment {
  environmentId: string;
  /** The release the environment should run; null when nothing is deployed. */
  desiredReleaseId: string | null;
  /** The release serving traffic; null until a first rollout succeeds. */
  liveReleaseId: string | null;
  /** The rollout under way (its target is the desired release), if any. */
  rollout: { id: string; toReleaseId: string } | null;
  /** Web replicas wanted (0 when the desired release has no web process). */
  replicas: number;
  /** The other process types of the live release; none before a release is live. */
  processes?: readonly DesiredProcess[];
  /** Process types that mount a single-writer volume: never two releases at once. */
  singleWriterTypes?: readonly string[];
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
  /** `web` or another process type (an orphan's comes from its label). */
  processType?: string;
  state: 'starting' | 'serving' | 'draining' | 'stopped' | null;
  container: ObservedContainerStatus;
  /** The code its container exited with, when it did and the runtime said. */
  exitCode?: number | null;
  /** The runtime ended it for exceeding its memory limit. */
  oomKilled?: boolean;
  /** Its memory limit, to say so when it runs out. */
  memoryMb?: number | null;
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
  | {
      kind: 'start';
      environmentId: string;
      releaseId: string;
      count: number;
      rolloutId: string | null;
      /** Absent: web. */
      processType?: string;
    }
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
  | {
      kind: 'backoff';
      environmentId: string;
      /** Absent: web. */
      processType?: string;
      restartStreak: number;
      crashedAt: Date;
      nextRestartAt: Date;
      crashLooping: boolean;
      /** How the replica ended, in words a user can act on ("out of memory at 512 MiB: raise memoryMb"). */
      reason?: string;
      oomKilled?: boolean;
      exitCode?: number | null;
      memoryMb?: number | null;
    }
  | { kind: 'recovered'; environmentId: string; processType?: string };

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

/** What a crashed replica's backoff keeps of how it ended. */
export function exitOf(replica: ObservedReplica): { oomKilled: boolean; exitCode: number | null; memoryMb: number | null } {
  return { oomKilled: replica.oomKilled ?? false, exitCode: replica.exitCode ?? null, memoryMb: replica.memoryMb ?? null };
}

/** How a replica that was not asked to stop ended, in words a user can act on. */
export function exitReason(replica: Pick<ObservedReplica, 'exitCode' | 'oomKilled' | 'memoryMb' | 'container'>): string {
  if (replica.oomKilled) {
    return replica.memoryMb ? `out of memory at ${replica.memoryMb} MiB: raise memoryMb` : 'out of memory: raise memoryMb';
  }
  return replica.container === 'stopped' && replica.exitCode !== undefined && replica.exitCode !== null
    ? `it exited with code ${replica.exitCode}`
    : `its container is ${replica.container}`;
}

/** Whether `type` mounts a single-writer volume in `env`. */
export function singleWriter(env: DesiredEnvironment, type: string): boolean {
  return env.singleWriterTypes?.includes(type) ?? false;
}

export function remove(replica: ObservedReplica, reason: string, graceful: boolean): ReconcileAction {
  return {
    kind: 'remove',
    environmentId: replica.environmentId,
    replicaId: replica.replicaId,
    containerId: replica.containerId,
    reason,
    graceful,
  };
}
