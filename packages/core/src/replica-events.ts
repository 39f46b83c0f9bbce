import type { NewEvent } from './events.ts';

/** Where a replica runs, for the events about it. */
export interface ReplicaPlace {
  appId: string;
  appName: string;
  environmentId: string;
  envName: string;
  processType: string;
}

/** A crash as the planner's `backoff` step reports it. */
export interface CrashFacts {
  restartStreak: number;
  crashedAt: Date;
  crashLooping: boolean;
  reason?: string;
  oomKilled?: boolean;
  exitCode?: number | null;
  memoryMb?: number | null;
  /**
   * The type was crash-looping already before this crash (its health said
   * so: the loop is reported). Unknown: the streak past `loopStreak` says.
   */
  wasLooping?: boolean;
}

function placeOf(place: ReplicaPlace) {
  return { appId: place.appId, environmentId: place.environmentId, envName: place.envName };
}

/**
 * The events of one crash: `crash.loop` when this crash makes the type
 * crash-looping (its streak at `loopStreak` or past it, and the type was not
 * looping before), so once per streak even when a streak's count runs on
 * past a reset; and `crash.oom` when the kernel killed it for its memory,
 * until the streak is reported looping (its later kills are the loop's).
 */
export function crashEvents(place: ReplicaPlace, crash: CrashFacts, loopStreak: number): NewEvent[] {
  const where = `${place.appName} ${place.envName}`;
  const key = `${place.environmentId}:${place.processType}`;
  const at = crash.crashedAt.toISOString();
  const data = {
    processType: place.processType,
    restartStreak: crash.restartStreak,
    exitCode: crash.exitCode ?? null,
    oomKilled: crash.oomKilled ?? false,
    memoryMb: crash.memoryMb ?? null,
  };
  const found: NewEvent[] = [];
  const wasLooping = crash.wasLooping ?? crash.restartStreak > loopStreak;
  if (crash.oomKilled && !wasLooping) {
    const limit = crash.memoryMb ? ` at its limit of ${crash.memoryMb} MiB` : '';
    found.push({
      ...placeOf(place),
      kind: 'crash.oom',
      message: `${where}: a ${place.processType} replica ran out of memory${limit} and was killed.`,
      data,
      dedupeKey: `crash.oom:${key}:${at}`,
    });
  }
  if (crash.crashLooping && crash.restartStreak >= loopStreak && !wasLooping) {
    const cause = crash.reason ? `; last: ${crash.reason}` : '';
    found.push({
      ...placeOf(place),
      kind: 'crash.loop',
      message: `${where}: ${place.processType} is crash-looping (${crash.restartStreak} crashes in a row${cause}).`,
      data: { ...data, reason: crash.reason ?? null },
      dedupeKey: `crash.loop:${key}:${at}`,
    });
  }
  return found;
}

/** A serving replica the health checks find failing. */
export interface UnhealthyReplica {
  replicaId: string;
  name: string;
  unhealthySince: Date;
}

/**
 * `health.failing` for a serving replica whose health checks have failed for
 * at least `afterMs` (a single failed probe is not reported): once per
 * replica and stretch of failing (keyed by when it began).
 */
export function healthFailingEvent(place: ReplicaPlace, replica: UnhealthyReplica, now: Date, afterMs: number): NewEvent | null {
  const failingMs = now.getTime() - replica.unhealthySince.getTime();
  if (failingMs < afterMs) return null;
  return {
    ...placeOf(place),
    kind: 'health.failing',
    message: `${place.appName} ${place.envName}: ${place.processType} replica ${replica.name} has failed its health checks for ${Math.round(failingMs / 1000)} s.`,
    data: { processType: place.processType, replica: replica.name, unhealthySince: replica.unhealthySince.toISOString() },
    dedupeKey: `health.failing:${replica.replicaId}:${replica.unhealthySince.toISOString()}`,
  };
}
