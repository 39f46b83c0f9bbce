import { type GateStatus, LABEL_RELEASE, type ObservedReplica, type WorkloadInstance } from '@pier/core';
import type { ReplicaRow, ReplicaStore } from '@pier/db';
import { LABEL_ENVIRONMENT_ID, LABEL_PROCESS } from './replica-spec.ts';

/** What the reconciler itself knows of each replica: a start or removal under way, a health gate. */
export interface ReconcilerState {
  /** Replica ids (and container ids of orphans) with a start or removal under way. */
  busy: ReadonlySet<string>;
  /** The health gate of a starting replica; null when not probed. */
  gate: (replicaId: string) => GateStatus | null;
}

/**
 * A replica whose start was cut short after its container ran, but before it
 * was recorded (its reconciler stopped), is recorded now; `rows` are updated
 * in place. Only one that runs and has an address: a container created but
 * never started is an interrupted start, removed (as an orphan, once its row
 * is gone) and started again.
 */
export async function adoptUnattached(
  replicas: Pick<ReplicaStore, 'attach'>,
  rows: ReplicaRow[],
  running: readonly WorkloadInstance[],
  busy: ReadonlySet<string>,
): Promise<void> {
  for (const row of rows) {
    if (row.containerId || busy.has(row.id)) continue;
    // A web replica is adopted once it answers somewhere; the other types publish nothing.
    const instance = running.find(
      (c) => c.name === row.containerName && c.status === 'running' && (c.address || row.processType !== 'web'),
    );
    if (!instance) continue;
    await replicas.attach(row.id, instance.id, instance.address);
    Object.assign(row, { containerId: instance.id, host: instance.address?.host ?? null, port: instance.address?.port ?? null });
  }
}

/** Joins replica rows with the labelled replicas the runtime reports and the reconciler's own state, for the planner. */
export function observeReplicas(
  rows: readonly ReplicaRow[],
  running: readonly WorkloadInstance[],
  state: ReconcilerState,
  now: Date,
): ObservedReplica[] {
  const byId = new Map(running.map((c) => [c.id, c]));
  const known = new Set(rows.flatMap((r) => (r.containerId ? [r.containerId, r.containerName] : [r.containerName])));
  const observed: ObservedReplica[] = rows.map((row) => {
    const instance = row.containerId ? byId.get(row.containerId) : undefined;
    return {
      replicaId: row.id,
      containerId: row.containerId,
      environmentId: row.environmentId,
      releaseId: row.releaseId,
      processType: row.processType,
      state: row.state,
      container: instance ? (instance.status === 'exited' ? 'stopped' : 'running') : 'missing',
      exitCode: instance?.exitCode ?? null,
      oomKilled: instance?.oomKilled ?? false,
      memoryMb: row.memoryMb,
      healthy: row.healthy,
      unhealthyForMs: row.unhealthySince ? now.getTime() - row.unhealthySince.getTime() : 0,
      ageMs: now.getTime() - row.updatedAt.getTime(),
      busy: state.busy.has(row.id),
      gate: state.gate(row.id),
    };
  });
  for (const instance of running) {
    if (known.has(instance.id) || known.has(instance.name)) continue;
    const environmentId = instance.labels[LABEL_ENVIRONMENT_ID];
    if (!environmentId) continue;
    observed.push({
      replicaId: null,
      containerId: instance.id,
      environmentId,
      releaseId: instance.labels[LABEL_RELEASE] ?? '',
      processType: instance.labels[LABEL_PROCESS] ?? 'web',
      state: null,
      container: instance.status === 'exited' ? 'stopped' : 'running',
      healthy: false,
      unhealthyForMs: 0,
      ageMs: instance.startedAt ? now.getTime() - instance.startedAt.getTime() : 0,
      busy: state.busy.has(instance.id),
      gate: null,
    });
  }
  return observed;
}
