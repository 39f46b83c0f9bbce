import {
  type CapacityCheck,
  type CapacityDecision,
  type CapacityPolicy,
  type CapacityRequest,
  decideCapacity,
  type EventRecorder,
  type HostResources,
  refusalDedupeKey,
} from '@pier/core';
import type { ReservationStore } from './stores/reservations.ts';

export interface CapacityGuardOptions {
  reservations: Pick<ReservationStore, 'reserved'>;
  /** Reads the host's memory and disks (readHostResources of @pier/config, with the disks this process can see). */
  host: () => Promise<HostResources>;
  policy: CapacityPolicy;
  /** Memory limit of each build container (PIER_BUILD_MEMORY_MB), counted per running build. */
  buildMemoryBytes: number;
  /** Where a refused request that names its app (`subject`) is recorded, as `capacity.refused`. */
  events?: EventRecorder;
}

/**
 * The capacity guard: the host as read now against the reservations in
 * Postgres, decided by core's `decideCapacity`. The same in the api and the
 * worker, so a scale-up and a rollout are weighed alike.
 */
export class CapacityGuard implements CapacityCheck {
  constructor(private readonly options: CapacityGuardOptions) {}

  async check(request: CapacityRequest): Promise<CapacityDecision> {
    const { policy } = this.options;
    if (policy.overcommit === null) return { ok: true };
    const [host, reserved] = await Promise.all([
      this.options.host(),
      this.options.reservations.reserved({ buildMemoryBytes: this.options.buildMemoryBytes, except: request.own }),
    ]);
    const decision = decideCapacity({ host, reservedBytes: reserved.total, policy, request });
    if (!decision.ok && request.subject) await this.#record(request, decision.reason);
    return decision;
  }

  async #record(request: CapacityRequest, reason: string): Promise<void> {
    const subject = request.subject;
    if (!subject || !this.options.events) return;
    await this.options.events.record({
      kind: 'capacity.refused',
      appId: subject.appId,
      environmentId: subject.environmentId ?? null,
      envName: subject.envName ?? null,
      message: `Refused for the host's capacity: ${reason}`,
      data: { request: request.kind, memoryBytes: request.memoryBytes, reason },
      dedupeKey: refusalDedupeKey('capacity', subject.appId, reason, new Date()),
    });
  }
}
