import { addressUrl, type GateStatus, type Workload } from '@pier/core';
import type { ReleaseStore, ReplicaRow } from '@pier/db';
import { waitUntilHealthy } from './health-gate.ts';

interface Gate {
  status: GateStatus;
  /** The last probe answers, for a failure reason. */
  responses: string[];
  abort: AbortController;
}

export interface HealthGatesOptions {
  releases: Pick<ReleaseStore, 'get' | 'health'>;
  workload: Pick<Workload, 'inspect'>;
  /** A gate passed or failed: the reconciler plans again. */
  onSettled: () => void;
}

/**
 * The health gates of starting replicas, as this reconciler probes them: each
 * polls its replica at the address the runtime reported, with its release's
 * health settings, from outside the container, in the background. The
 * planner reads their status; a lost lease or a stop abandons them.
 */
export class HealthGates {
  readonly #gates = new Map<string, Gate>();
  readonly #probes = new Set<Promise<void>>();

  constructor(private readonly options: HealthGatesOptions) {}

  /** The gate of a replica; null when this reconciler has not probed it. */
  status(replicaId: string): GateStatus | null {
    return this.#gates.get(replicaId)?.status ?? null;
  }

  /** The last probe answers of a replica's gate. */
  responses(replicaId: string): string[] {
    return this.#gates.get(replicaId)?.responses ?? [];
  }

  /** Starts probing a started replica, unless its gate exists. */
  probe(row: ReplicaRow): void {
    if (this.#gates.has(row.id) || !row.containerId) return;
    const gate: Gate = { status: { state: 'pending' }, responses: [], abort: new AbortController() };
    this.#gates.set(row.id, gate);
    const { releases, workload } = this.options;
    const containerId = row.containerId;
    const probe = (async () => {
      const health = releases.health(await releases.get(row.releaseId));
      if (row.host === null || row.port === null) {
        gate.status = { state: 'failed', reason: 'the runtime reported no address for it' };
        return;
      }
      const result = await waitUntilHealthy({
        url: addressUrl({ host: row.host, port: row.port }, health.path),
        settings: health,
        isRunning: async () => (await workload.inspect(containerId))?.status !== 'exited',
        signal: gate.abort.signal,
      });
      gate.responses = result.responses;
      if (gate.abort.signal.aborted) return;
      gate.status = result.healthy
        ? { state: 'passed' }
        : { state: 'failed', reason: `did not pass its health check (GET ${health.path}): ${result.reason ?? 'unhealthy'}` };
    })()
      .catch((err: unknown) => {
        gate.status = { state: 'failed', reason: `its health check could not run: ${(err as Error).message}` };
      })
      .finally(() => {
        this.#probes.delete(probe);
        this.options.onSettled();
      });
    this.#probes.add(probe);
  }

  /** A replica that could not even start fails its gate with `reason`. */
  fail(replicaId: string, reason: string): void {
    this.forget(replicaId);
    this.#gates.set(replicaId, { status: { state: 'failed', reason }, responses: [], abort: new AbortController() });
  }

  forget(replicaId: string): void {
    this.#gates.get(replicaId)?.abort.abort();
    this.#gates.delete(replicaId);
  }

  /** Forgets the gates of replicas that are gone some other way (a deleted environment's rows go with it). */
  keepOnly(replicaIds: ReadonlySet<string>, busy: ReadonlySet<string>): void {
    for (const id of [...this.#gates.keys()]) if (!replicaIds.has(id) && !busy.has(id)) this.forget(id);
  }

  /** Abandons every gate (the lease went to another worker, or the reconciler stops) and waits for the probes to end. */
  async abandon(): Promise<void> {
    for (const id of [...this.#gates.keys()]) this.forget(id);
    await Promise.allSettled([...this.#probes]);
  }
}
