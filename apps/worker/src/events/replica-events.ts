import {
  crashEvents,
  DEFAULT_PLAN_OPTIONS,
  type EventRecorder,
  healthFailingEvent,
  type ReconcileAction,
  type ReplicaPlace,
} from '@pier/core';
import type { ReconcileTarget, ReplicaRow } from '@pier/db';

/** A serving replica failing its health checks this long is reported (`health.failing`); a single failed probe is not. */
export const HEALTH_FAILING_AFTER_MS = 10_000;

/**
 * What the reconciler sees happen to replicas, recorded as events: a crash
 * (`crash.oom`, and `crash.loop` once per streak) and a serving replica
 * failing its health checks (`health.failing`, once per stretch). The
 * decisions are core's (`replica-events.ts`); this only records them.
 */
export class ReplicaEvents {
  /** Failing stretches already recorded (`<replica>:<unhealthySince>`), so a pass does not try again. */
  readonly #reported = new Set<string>();

  constructor(
    private readonly events: EventRecorder,
    /** The planner's (`PlanOptions.crashLoopStreak`): a streak is reported once it reaches it. */
    private readonly crashLoopStreak = DEFAULT_PLAN_OPTIONS.crashLoopStreak,
    private readonly failingAfterMs = HEALTH_FAILING_AFTER_MS,
  ) {}

  /** After the planner's `backoff` step was recorded (`wasLooping`: as EnvironmentHealthStore.backoff found the type). */
  async crash(
    action: Extract<ReconcileAction, { kind: 'backoff' }> & { wasLooping: boolean },
    target: ReconcileTarget | undefined,
  ): Promise<void> {
    if (!target) return;
    const place = placeOf(target, action.processType ?? 'web');
    for (const event of crashEvents(place, action, this.crashLoopStreak)) await this.events.record(event);
  }

  /** Once per pass, over the replica rows it read. */
  async failingHealth(rows: readonly ReplicaRow[], targets: ReadonlyMap<string, ReconcileTarget>, now: Date): Promise<void> {
    const failing = new Set<string>();
    for (const row of rows) {
      if (row.state !== 'serving' || row.healthy || !row.unhealthySince) continue;
      const key = `${row.id}:${row.unhealthySince.toISOString()}`;
      failing.add(key);
      const target = targets.get(row.environmentId);
      if (!target || this.#reported.has(key)) continue;
      const replica = { replicaId: row.id, name: row.containerName, unhealthySince: row.unhealthySince };
      const event = healthFailingEvent(placeOf(target, row.processType), replica, now, this.failingAfterMs);
      if (!event) continue;
      this.#reported.add(key);
      await this.events.record(event);
    }
    for (const key of this.#reported) if (!failing.has(key)) this.#reported.delete(key);
  }
}

function placeOf(target: ReconcileTarget, processType: string): ReplicaPlace {
  return { appId: target.appId, appName: target.appName, environmentId: target.environmentId, envName: target.name, processType };
}
