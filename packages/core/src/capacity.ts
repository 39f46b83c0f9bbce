/**
 * The capacity guard's decision: does what a build, rollout, scale-up, run or
 * preview reserves fit in what this host has left? Pure: the host's figures
 * and the reserved sum are read by the caller (packages/config reads the
 * host, packages/db sums the reservations). See
 * docs/decisions/0003-capacity-guard.md for why limits, and not usage, are
 * what is counted.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Memory limit of a replica or run whose limit is not known (the default of every process type). */
export const DEFAULT_PROCESS_MEMORY_MB = 512;
/** Memory limit of a managed Postgres or Redis container (the worker's SERVICE_LIMITS). */
export const MANAGED_SERVICE_MEMORY_MB = 1024;

/** Memory kept for the OS, Docker and Pier itself when PIER_CAPACITY_RESERVE_MB is unset: this share of the total… */
export const DEFAULT_RESERVE_SHARE = 0.1;
/** …but at least this much (a small VPS's kernel, dockerd, Postgres, Redis and Pier's own processes). */
export const DEFAULT_RESERVE_MIN_BYTES = 512 * MiB;
/** Free disk every filesystem must keep after a request, besides what the request itself needs. */
export const DISK_HEADROOM_BYTES = 1 * GiB;

export type CapacityKind = 'build' | 'rollout' | 'scale' | 'run' | 'preview';

/** What the host has, as read when the request is decided. */
export interface HostResources {
  memoryTotalBytes: number;
  /** What the kernel could hand out now without swapping (MemAvailable): told, not counted (see the decision). */
  memoryAvailableBytes: number;
  /** The filesystems that fill up: `/` and Docker's data root (one entry when they are the same). */
  disks: readonly { path: string; freeBytes: number }[];
}

export interface CapacityPolicy {
  /** Memory kept for the system (PIER_CAPACITY_RESERVE_MB); null: DEFAULT_RESERVE_SHARE of the total, at least DEFAULT_RESERVE_MIN_BYTES. */
  reserveBytes: number | null;
  /** What is left after the reserve is multiplied by this (PIER_CAPACITY_OVERCOMMIT): 1 promises no more than there is; null turns the guard off. */
  overcommit: number | null;
}

export interface CapacityRequest {
  kind: CapacityKind;
  /** What is asked, as the reason begins: "scaling staging to 10 replicas". */
  action: string;
  /** The memory limits it adds up to (0 for a scale-down). */
  memoryBytes: number;
  /** Disk it will write (a build's image layers), on top of the headroom. */
  diskBytes?: number;
  /** The request's own row when it is already recorded as running (a claimed build, a started run): left out of the reserved sum. */
  own?: { deploymentId?: string; runId?: string };
  /** Whose request it is: a refusal is recorded as that app's `capacity.refused` event. */
  subject?: { appId: string; environmentId?: string | null; envName?: string | null };
}

export type CapacityDecision = { ok: true } | { ok: false; reason: string };

/** Where a refused request of each kind can be made to fit, besides overcommit. */
const ADVICE: Record<CapacityKind, string> = {
  build: 'Wait for running builds to finish, or lower PIER_BUILD_MEMORY_MB',
  rollout: 'Lower the replicas or memoryMb of its process types, or scale down another environment',
  scale: 'Lower replicas or memoryMb, or scale down another environment',
  run: "Lower the run's memoryMb, or wait for running runs to finish",
  preview: 'Close a preview, or scale down another environment',
};

/** The system's share of the memory: the configured reserve, or the default's 10 % (at least 512 MiB). */
export function systemReserveBytes(memoryTotalBytes: number, reserveBytes: number | null): number {
  return reserveBytes ?? Math.max(DEFAULT_RESERVE_MIN_BYTES, Math.round(memoryTotalBytes * DEFAULT_RESERVE_SHARE));
}

/** Memory Pier may promise to containers: the total less the system's reserve, times the overcommit ratio. */
export function allocatableBytes(memoryTotalBytes: number, policy: CapacityPolicy): number {
  const own = Math.max(0, memoryTotalBytes - systemReserveBytes(memoryTotalBytes, policy.reserveBytes));
  return Math.floor(own * (policy.overcommit ?? 1));
}

/**
 * Allows the request when the memory it reserves fits in what is allocatable
 * less what is reserved already, and every disk keeps DISK_HEADROOM_BYTES
 * free after what it writes. A refusal names the figures and what to change.
 * A request that reserves no memory and writes nothing (a scale-down) always
 * fits; with the guard off (overcommit null) everything does.
 */
export function decideCapacity(input: {
  host: HostResources;
  reservedBytes: number;
  policy: CapacityPolicy;
  request: CapacityRequest;
}): CapacityDecision {
  const { host, reservedBytes, policy, request } = input;
  if (policy.overcommit === null) return { ok: true };
  if (request.memoryBytes <= 0 && !request.diskBytes) return { ok: true };
  return memoryProblem(host, reservedBytes, policy, request) ?? diskProblem(host, request) ?? { ok: true };
}

function memoryProblem(
  host: HostResources,
  reservedBytes: number,
  policy: CapacityPolicy,
  request: CapacityRequest,
): CapacityDecision | null {
  if (request.memoryBytes <= 0) return null;
  const allocatable = allocatableBytes(host.memoryTotalBytes, policy);
  const left = allocatable - reservedBytes;
  if (request.memoryBytes <= left) return null;
  const ratio = policy.overcommit === 1 ? '' : ` (× ${policy.overcommit} overcommit)`;
  const reason =
    `${request.action} reserves ${formatBytes(request.memoryBytes)} of memory, but ${formatBytes(Math.max(0, left))} is left: ` +
    `${formatBytes(allocatable)} of this host's ${formatBytes(host.memoryTotalBytes)} is allocatable${ratio} ` +
    `and ${formatBytes(reservedBytes)} is reserved already (${formatBytes(host.memoryAvailableBytes)} is unused right now). ` +
    `${ADVICE[request.kind]}, or set PIER_CAPACITY_OVERCOMMIT.`;
  return { ok: false, reason };
}

function diskProblem(host: HostResources, request: CapacityRequest): CapacityDecision | null {
  const needed = (request.diskBytes ?? 0) + DISK_HEADROOM_BYTES;
  const short = host.disks.find((disk) => disk.freeBytes < needed);
  if (!short) return null;
  const writes = request.diskBytes ? `writes up to ${formatBytes(request.diskBytes)} and ` : '';
  const reason =
    `${request.action} ${writes}needs ${formatBytes(DISK_HEADROOM_BYTES)} of disk to stay free, ` +
    `but ${short.path} has ${formatBytes(short.freeBytes)} free. Free disk space (old images, backups), or set PIER_CAPACITY_OVERCOMMIT=off.`;
  return { ok: false, reason };
}

/** "512 MiB" below a GiB, "21.6 GiB" from there: the units a user sets (memoryMb) and reads in `free -h`. */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < GiB) return `${Math.round(bytes / MiB)} MiB`;
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

/**
 * Port: the guard as its callers see it (scale-ups in the api, builds,
 * rollouts and runs in the worker). `check` reads the host and the reserved
 * sum and decides; it reserves nothing itself: what it allows is reserved
 * once its replicas, build or run are recorded.
 */
export interface CapacityCheck {
  check(request: CapacityRequest): Promise<CapacityDecision>;
}
