import { posix } from 'node:path';
import { type ContainerSpec, type ResourceLimits, ValidationError } from '@pier/core';
import type Dockerode from 'dockerode';
import { assertSafeHostConfig } from './host-config-safety.ts';

export { assertSafeHostConfig } from './host-config-safety.ts';

/** What of a ContainerSpec decides its HostConfig. */
export type HostConfigInput = Pick<ContainerSpec, 'limits' | 'containerPort' | 'networks' | 'volumes' | 'readOnlyVolumes'>;

/** The only address ports are ever published on: the proxy reaches containers from this host. */
export const PUBLISH_HOST_IP = '127.0.0.1';
/** A container's json-file log is rotated at this size, keeping `LOG_MAX_FILES` files: at most 30 MB per container. */
export const LOG_MAX_SIZE = '10m';
export const LOG_MAX_FILES = '3';
/** Docker refuses a memory limit below 6 MiB. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** Docker's own rule for volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * The HostConfig of every container Pier runs, and the only place one is made:
 * limits always set (no swap beyond the memory limit), the port published on
 * 127.0.0.1 at a free host port, named volumes only, an init process as PID 1
 * (signals are forwarded and zombies reaped), no raw sockets (NET_RAW
 * dropped), no privilege escalation, no restarts by Docker (the reconciler
 * restarts, with backoff), bounded logs, and the first network as the network
 * mode. Checked by `assertSafeHostConfig` before it is returned.
 */
export function buildHostConfig(input: HostConfigInput): Dockerode.HostConfig {
  checkLimits(input.limits);
  const hostConfig: Dockerode.HostConfig = {
    Memory: input.limits.memoryBytes,
    MemorySwap: input.limits.memoryBytes,
    NanoCpus: input.limits.nanoCpus,
    PidsLimit: input.limits.pids,
    ...portBindings(input.containerPort),
    Mounts: volumeMounts(input.volumes ?? {}, input.readOnlyVolumes ?? []),
    Init: true,
    // Raw sockets would let code forge packets (ARP, or to 127.0.0.1 on the bridge) past the host firewall's view.
    CapDrop: ['NET_RAW'],
    SecurityOpt: ['no-new-privileges:true'],
    RestartPolicy: { Name: 'no' },
    LogConfig: { Type: 'json-file', Config: { 'max-size': LOG_MAX_SIZE, 'max-file': LOG_MAX_FILES } },
    NetworkMode: input.networks[0] ?? 'bridge',
  };
  assertSafeHostConfig(hostConfig);
  return hostConfig;
}

function checkLimits(limits: ResourceLimits): void {
  const checks: [keyof ResourceLimits, number][] = [
    ['memoryBytes', MIN_MEMORY_BYTES],
    ['nanoCpus', 1],
    ['pids', 1],
  ];
  for (const [field, minimum] of checks) {
    const value = limits[field];
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new ValidationError(`limits.${field} must be a whole number ≥ ${minimum}, not ${value}`, `limits.${field}`);
    }
  }
}

function portBindings(containerPort: number | null): Pick<Dockerode.HostConfig, 'PortBindings'> {
  if (containerPort === null) return {};
  if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65_535) {
    throw new ValidationError(`containerPort must be a port number (1-65535), not ${containerPort}`, 'containerPort');
  }
  // HostPort '' lets the Engine pick a free port; it is read back from the inspected container.
  return { PortBindings: { [`${containerPort}/tcp`]: [{ HostIp: PUBLISH_HOST_IP, HostPort: '' }] } };
}

function volumeMounts(volumes: Record<string, string>, readOnly: readonly string[]): Dockerode.MountSettings[] {
  return Object.entries(volumes).map(([name, target]) => {
    if (!VOLUME_NAME.test(name))
      throw new ValidationError(`volume name ${JSON.stringify(name)} is not a valid volume name`, 'volumes');
    if (!posix.isAbsolute(target) || posix.normalize(target) !== target || target === '/') {
      throw new ValidationError(
        `volume ${name} must be mounted at a normalized absolute path other than /, not ${target}`,
        'volumes',
      );
    }
    return { Type: 'volume', Source: name, Target: target, ...(readOnly.includes(name) ? { ReadOnly: true } : {}) };
  });
}
