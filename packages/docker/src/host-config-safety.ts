import { ValidationError } from '@pier/core';
import type Dockerode from 'dockerode';

type HostConfig = Dockerode.HostConfig;

/** One thing a Pier container may never have: the HostConfig field, and why. */
interface SafetyRule {
  field: string;
  refuses: (hostConfig: HostConfig) => boolean;
  reason: string;
}

const REQUIRED_HOST_IP = '127.0.0.1';

/** Namespace modes that share the host's, or another container's, namespace. */
const sharesNamespace = (mode: string | undefined): boolean => mode === 'host' || (mode ?? '').startsWith('container:');
const isSet = (value: unknown): boolean =>
  Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null && value !== '' && value !== false;
const isLimit = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

const RULES: readonly SafetyRule[] = [
  { field: 'Privileged', refuses: (h) => h.Privileged === true, reason: 'privileged mode hands the container the host' },
  { field: 'Binds', refuses: (h) => isSet(h.Binds), reason: 'host paths are never mounted' },
  { field: 'Mounts', refuses: (h) => (h.Mounts ?? []).some(isHostMount), reason: 'only named volumes and tmpfs are mounted' },
  { field: 'VolumesFrom', refuses: (h) => isSet(h.VolumesFrom), reason: "another container's mounts are never shared" },
  { field: 'NetworkMode', refuses: (h) => sharesNamespace(h.NetworkMode), reason: 'the network namespace is never shared' },
  { field: 'PidMode', refuses: (h) => sharesNamespace(h.PidMode), reason: 'the PID namespace is never shared' },
  { field: 'IpcMode', refuses: (h) => sharesNamespace(h.IpcMode), reason: 'the IPC namespace is never shared' },
  { field: 'UTSMode', refuses: (h) => h.UTSMode === 'host', reason: 'the UTS namespace is never shared' },
  { field: 'UsernsMode', refuses: (h) => h.UsernsMode === 'host', reason: 'the user namespace is never shared' },
  { field: 'CapAdd', refuses: (h) => isSet(h.CapAdd), reason: 'no capability is ever added' },
  {
    field: 'CapDrop',
    refuses: (h) => !(h.CapDrop ?? []).some((cap: string) => ['NET_RAW', 'CAP_NET_RAW', 'ALL'].includes(cap.toUpperCase())),
    reason: 'NET_RAW is always dropped (raw sockets forge packets)',
  },
  { field: 'Devices', refuses: (h) => isSet(h.Devices), reason: 'host devices are never exposed' },
  { field: 'DeviceRequests', refuses: (h) => isSet(h.DeviceRequests), reason: 'host devices are never exposed' },
  { field: 'DeviceCgroupRules', refuses: (h) => isSet(h.DeviceCgroupRules), reason: 'host devices are never exposed' },
  { field: 'SecurityOpt', refuses: (h) => disablesConfinement(h.SecurityOpt), reason: 'seccomp, AppArmor and SELinux stay on' },
  { field: 'CgroupParent', refuses: (h) => isSet(h.CgroupParent), reason: 'containers stay in the cgroup their limits apply to' },
  { field: 'PublishAllPorts', refuses: (h) => h.PublishAllPorts === true, reason: 'only the one port is published' },
  {
    field: 'PortBindings',
    refuses: (h) => publishedHostIps(h.PortBindings).some((ip) => ip !== REQUIRED_HOST_IP),
    reason: `ports are published on ${REQUIRED_HOST_IP} only`,
  },
  { field: 'Memory', refuses: (h) => !isLimit(h.Memory), reason: 'a memory limit is always set' },
  { field: 'MemorySwap', refuses: (h) => h.MemorySwap === -1, reason: 'swap is never unlimited' },
  { field: 'NanoCpus', refuses: (h) => !isLimit(h.NanoCpus), reason: 'a CPU limit is always set' },
  { field: 'PidsLimit', refuses: (h) => !isLimit(h.PidsLimit), reason: 'a process limit is always set' },
];

/**
 * Throws a ValidationError naming the first field of `hostConfig` that would
 * weaken the container's isolation from the host: privileged mode, host paths
 * (binds, bind or host-backed mounts), the Docker socket anywhere, the host's or
 * another container's namespaces, added capabilities or devices, ports
 * published beyond 127.0.0.1, or a missing memory, CPU or process limit.
 */
export function assertSafeHostConfig(hostConfig: HostConfig): void {
  const socketField = fieldMentioningDockerSocket(hostConfig);
  if (socketField) refuse(socketField, 'the Docker socket is never reachable from a container');
  for (const rule of RULES) {
    if (rule.refuses(hostConfig)) refuse(rule.field, rule.reason);
  }
}

function refuse(field: string, reason: string): never {
  throw new ValidationError(`refusing HostConfig.${field}: ${reason}`, field);
}

/** Anything but a named volume of the default driver or a tmpfs without a source reaches the host's files. */
function isHostMount(mount: Dockerode.MountSettings): boolean {
  if (mount.Type === 'tmpfs') return isSet(mount.Source);
  if (mount.Type !== 'volume') return true;
  // A volume with driver options can be a bind in disguise (`o=bind,device=/`).
  return !mount.Source || mount.Source.startsWith('/') || mount.VolumeOptions?.DriverConfig !== undefined;
}

function disablesConfinement(options: unknown): boolean {
  if (!Array.isArray(options)) return false;
  return options.some((option) => /unconfined|^label[=:]disable/.test(String(option)));
}

function publishedHostIps(portBindings: unknown): string[] {
  if (typeof portBindings !== 'object' || portBindings === null) return [];
  const bindings = Object.values(portBindings as Record<string, { HostIp?: string }[] | null>);
  return bindings.flatMap((list) => (list ?? []).map((binding) => binding.HostIp ?? ''));
}

function fieldMentioningDockerSocket(hostConfig: HostConfig): string | undefined {
  return Object.entries(hostConfig).find(([, value]) => JSON.stringify(value ?? null).includes('docker.sock'))?.[0];
}
