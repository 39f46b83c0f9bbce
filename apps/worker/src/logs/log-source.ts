import { type ContainerInfo, LABEL_RELEASE, LABEL_ROLE } from '@pier/core';
import { LABEL_ENVIRONMENT_ID, LABEL_PROCESS, ROLE_PROCESS, ROLE_WEB } from '../deploy/replica-spec.ts';

/** What each stored line of a container is tagged with. */
export interface LogSource {
  environmentId: string;
  /** `replica`, `release`, `run` or `cron`. */
  source: string;
  /** A replica's process type; `release`, `run` or `cron` for those containers. */
  processType: string;
  /** The container's name. */
  replica: string;
  releaseId: string | null;
}

/** `pier.role` of the one-off containers whose output is kept, besides replicas. */
const ONE_OFF_ROLES = new Set(['release', 'run', 'cron']);

/**
 * Whose output a container is, from the labels Pier put on it: replicas
 * (`web`, `process`), release commands and runs. Anything else (managed
 * services, builds, helpers) or a container without its environment's id is
 * not an app's: null.
 */
export function logSourceOf(container: Pick<ContainerInfo, 'name' | 'labels'>): LogSource | null {
  const { labels } = container;
  const environmentId = labels[LABEL_ENVIRONMENT_ID];
  const role = labels[LABEL_ROLE];
  if (!environmentId || !role) return null;
  const releaseId = labels[LABEL_RELEASE] ?? null;
  if (role === ROLE_WEB || role === ROLE_PROCESS) {
    const processType = labels[LABEL_PROCESS] ?? 'web';
    return { environmentId, source: 'replica', processType, replica: container.name, releaseId };
  }
  if (ONE_OFF_ROLES.has(role)) return { environmentId, source: role, processType: role, replica: container.name, releaseId };
  return null;
}

/** An engine timestamp (`2024-05-01T10:00:00.123456789Z`) in nanoseconds since the epoch, to compare two exactly; null if it is none. */
export function engineNanos(time: string): bigint | null {
  const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!match) return null;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  if (!Number.isFinite(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}
