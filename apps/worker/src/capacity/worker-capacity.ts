import { readHostResources } from '@pier/config';
import type { CapacityPolicy, EventRecorder, HostResources } from '@pier/core';
import { CapacityGuard, type ReservationStore } from '@pier/db';

/**
 * The worker's capacity guard: the host's memory and `/` as the api reads
 * them, plus the filesystem of Docker's data root, which only the worker
 * (it holds the Engine's socket) can locate: images and layers fill it.
 */
export function workerCapacityGuard(options: {
  reservations: Pick<ReservationStore, 'reserved'>;
  policy: CapacityPolicy;
  buildMemoryBytes: number;
  /** Free bytes of Docker's data root (DockerRuntime.freeDiskBytes). */
  dockerFreeBytes: () => Promise<number>;
  /** Where refusals are recorded (`capacity.refused`). */
  events?: EventRecorder;
}): CapacityGuard {
  const host = async (): Promise<HostResources> => {
    const [read, docker] = await Promise.all([readHostResources({ paths: ['/'] }), options.dockerFreeBytes()]);
    return { ...read, disks: [...read.disks, { path: "Docker's data root", freeBytes: docker }] };
  };
  return new CapacityGuard({
    reservations: options.reservations,
    host,
    policy: options.policy,
    buildMemoryBytes: options.buildMemoryBytes,
    events: options.events,
  });
}
