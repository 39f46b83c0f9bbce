import { DEFAULT_APP_PORT, describeHealthCheck, type GateStatus, hostnamesFor, type Workload } from '@pier/core';
import type { ReleaseStore, ReplicaRow } from '@pier/db';
import { waitUntilHealthy } from './health-gate.ts';

interface Gate {
  status: GateStatus;
  /** The last probe answers, for a failure reason. */
  responses: string[];
  abort: AbortController;
}

export interface HealthGatesOptions {
  releases: Pick<ReleaseStore, 'get' | 'health' | 'settings'>;
  workload: Pick<Workload, 'inspect'>;
  /** The installation's base domain (PIER_BASE_DOMAIN): probes send the environment's generated hostname as `Host`. */
  baseDomain: string;
  /** A replica on whose port nothing listened for this long fails before its deadline: default 30 s. */
  startPeriodMs?: number;
  /** A gate passed or failed: the reconciler plans again. */
  onSettled: () => void;
}

/** The environment a replica serves, by name. */
export interface GatedEnvironment {
  appName: string;
  name: string;
}

/** How long nothing may listen on a new replica's port before its gate fails, unless its deadline is shorter. */
export const DEFAULT_START_PERIOD_MS = 30_000;

/**
 * The health gates of starting replicas, as this reconciler probes them: each
 * polls its replica at the address the runtime reported, with its release's
 * health settings and its environment's hostname as `Host`, from outside the
 * container, in the background. The planner reads their status; a lost lease
 * or a stop abandons them.
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

  /** Starts probing a started replica of `environment`, unless its gate exists. */
  probe(row: ReplicaRow, environment: GatedEnvironment): void {
    if (this.#gates.has(row.id) || !row.containerId) return;
    const gate: Gate = { status: { state: 'pending' }, responses: [], abort: new AbortController() };
    this.#gates.set(row.id, gate);
    const { releases, workload } = this.options;
    const containerId = row.containerId;
    const probe = (async () => {
      const release = await releases.get(row.releaseId);
      const health = releases.health(release);
      if (row.host === null || row.port === null) {
        gate.status = { state: 'failed', reason: 'the runtime reported no address for it' };
        return;
      }
      const result = await waitUntilHealthy({
        address: { host: row.host, port: row.port },
        settings: health,
        hostname: hostnamesFor(environment.appName, environment.name, this.options.baseDomain)[0] ?? this.options.baseDomain,
        expected: {
          port: release.port ?? DEFAULT_APP_PORT,
          source: releases.settings(release).port?.source,
          app: environment.appName,
          env: environment.name,
        },
        startPeriodMs: this.options.startPeriodMs ?? DEFAULT_START_PERIOD_MS,
        container: async () => {
          const instance = await workload.inspect(containerId);
          return {
            running: instance !== null && instance.status !== 'exited',
            exitCode: instance?.exitCode ?? null,
            oomKilled: instance?.oomKilled ?? false,
            memoryMb: row.memoryMb,
          };
        },
        signal: gate.abort.signal,
      });
      gate.responses = result.responses;
      if (gate.abort.signal.aborted) return;
      const check = describeHealthCheck(health.path);
      gate.status = result.healthy
        ? { state: 'passed' }
        : { state: 'failed', reason: `did not pass its health check (${check}): ${result.reason ?? 'unhealthy'}` };
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
