import type { NewEvent } from './events.ts';

/** When the host's conditions fire (PIER_ALERT_DISK_PERCENT, PIER_ALERT_MEMORY_AVAILABLE_PERCENT). */
export interface HostAlertThresholds {
  /** A disk this full (used share of its size, 0–100) or fuller fires `host.disk`. */
  diskPercent: number;
  /** Memory available (MemAvailable) below this share of the total fires `host.memory`… */
  memoryAvailablePercent: number;
  /** …once it has been so for this many samples in a row (a passing spike does not). */
  memorySamples: number;
}

export const DEFAULT_HOST_ALERT_THRESHOLDS: HostAlertThresholds = {
  diskPercent: 90,
  memoryAvailablePercent: 10,
  memorySamples: 2,
};

/** One reading of the host. */
export interface HostSample {
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  /** `/` and Docker's data root (one entry when they are the same filesystem). */
  disks: readonly { name: string; totalBytes: number; freeBytes: number }[];
}

/** A condition as `alert_states` keeps it. */
export interface AlertState {
  firing: boolean;
  since: Date;
  /** For memory: how many low samples in a row so far. */
  data: Record<string, unknown>;
}

export interface HostAlertDecision {
  /** The states to write (only those that changed). */
  states: { key: string; firing: boolean; since: Date; data: Record<string, unknown> }[];
  events: NewEvent[];
}

/** Points of percentage a condition must be back past its threshold to clear, so a value at the threshold does not flap. */
export const HOST_ALERT_HYSTERESIS = 2;

const GiB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;
const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

/**
 * Compares a sample of the host with its thresholds and with what was
 * firing: an event when a condition starts (`host.disk`, `host.memory`) and
 * when it clears (`host.recovered`: a disk below its threshold less
 * `HOST_ALERT_HYSTERESIS` points, memory above its threshold plus as much),
 * none while it stays as it was. Pure: the worker's host-alert pass reads the
 * host and `alert_states`, and writes what this returns. An event's dedupe
 * key is the condition and the start of the state it ends, so a pass that
 * decides again after a failed recording records each event once.
 */
export function decideHostAlerts(
  sample: HostSample,
  previous: ReadonlyMap<string, AlertState>,
  thresholds: HostAlertThresholds,
  now: Date,
): HostAlertDecision {
  const decision: HostAlertDecision = { states: [], events: [] };
  for (const disk of sample.disks) {
    const key = `host.disk:${disk.name}`;
    const used = percent(disk.totalBytes - disk.freeBytes, disk.totalBytes);
    const was = previous.get(key);
    const threshold = was?.firing ? thresholds.diskPercent - HOST_ALERT_HYSTERESIS : thresholds.diskPercent;
    const firing = disk.totalBytes > 0 && used >= threshold;
    if (firing === (was?.firing ?? false)) continue;
    const data = { disk: disk.name, usedPercent: used, freeBytes: disk.freeBytes, totalBytes: disk.totalBytes };
    decision.states.push({ key, firing, since: now, data });
    const state = `${disk.name} is ${used}% full (${gib(disk.freeBytes)} free of ${gib(disk.totalBytes)})`;
    decision.events.push(
      firing
        ? {
            kind: 'host.disk',
            message: `Disk ${state}, above the threshold of ${thresholds.diskPercent}%.`,
            data,
            dedupeKey: dedupeKey(key, was),
          }
        : {
            kind: 'host.recovered',
            message: `Disk ${state}, back below ${thresholds.diskPercent}%.`,
            data,
            dedupeKey: `${dedupeKey(key, was)}:recovered`,
          },
    );
  }
  memoryAlert(sample, previous.get('host.memory'), thresholds, now, decision);
  return decision;
}

function memoryAlert(
  sample: HostSample,
  was: AlertState | undefined,
  thresholds: HostAlertThresholds,
  now: Date,
  decision: HostAlertDecision,
): void {
  const key = 'host.memory';
  const available = percent(sample.memoryAvailableBytes, sample.memoryTotalBytes);
  const low = available < thresholds.memoryAvailablePercent;
  const lowSamples = low ? Number(was?.data.lowSamples ?? 0) + 1 : 0;
  const firing = was?.firing
    ? available < thresholds.memoryAvailablePercent + HOST_ALERT_HYSTERESIS
    : lowSamples >= thresholds.memorySamples;
  const data = {
    availablePercent: available,
    availableBytes: sample.memoryAvailableBytes,
    totalBytes: sample.memoryTotalBytes,
    lowSamples,
  };
  const state = `${available}% of the memory is available (${gib(sample.memoryAvailableBytes)} of ${gib(sample.memoryTotalBytes)})`;
  if (firing !== (was?.firing ?? false)) {
    decision.states.push({ key, firing, since: now, data });
    decision.events.push(
      firing
        ? {
            kind: 'host.memory',
            message: `Memory pressure: ${state}, below ${thresholds.memoryAvailablePercent}% for ${lowSamples} samples.`,
            data,
            dedupeKey: dedupeKey(key, was),
          }
        : {
            kind: 'host.recovered',
            message: `Memory pressure is over: ${state}.`,
            data,
            dedupeKey: `${dedupeKey(key, was)}:recovered`,
          },
    );
  } else if (!firing && lowSamples !== Number(was?.data.lowSamples ?? 0)) {
    // Not firing yet (or no longer low): only the count of low samples in a row changes.
    decision.states.push({ key, firing: false, since: was?.since ?? now, data });
  }
}

/** A transition's key: the condition and when the state it ends began (each transition begins a new one). */
function dedupeKey(key: string, was: AlertState | undefined): string {
  return `${key}:after:${was ? was.since.toISOString() : 'none'}`;
}
