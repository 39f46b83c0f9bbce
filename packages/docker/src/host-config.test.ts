import { ValidationError } from '@pier/core';
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { assertSafeHostConfig, buildHostConfig, type HostConfigInput } from './host-config.ts';

const MiB = 1024 * 1024;
const input: HostConfigInput = {
  limits: { memoryBytes: 256 * MiB, nanoCpus: 500_000_000, pids: 256 },
  containerPort: 3000,
  networks: ['pier-web-production', 'pier-web-services'],
};

describe('buildHostConfig', () => {
  const built = buildHostConfig(input);
  const cases: { name: string; field: keyof Dockerode.HostConfig; expected: unknown }[] = [
    { name: 'memory limit', field: 'Memory', expected: 256 * MiB },
    { name: 'no swap beyond the memory limit', field: 'MemorySwap', expected: 256 * MiB },
    { name: 'CPU limit', field: 'NanoCpus', expected: 500_000_000 },
    { name: 'process limit', field: 'PidsLimit', expected: 256 },
    {
      name: 'port on 127.0.0.1, free host port',
      field: 'PortBindings',
      expected: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
    { name: 'no mounts by default', field: 'Mounts', expected: [] },
    { name: 'an init process as PID 1', field: 'Init', expected: true },
    { name: 'no raw sockets', field: 'CapDrop', expected: ['NET_RAW'] },
    { name: 'no privilege escalation', field: 'SecurityOpt', expected: ['no-new-privileges:true'] },
    { name: 'Docker never restarts it', field: 'RestartPolicy', expected: { Name: 'no' } },
    {
      name: 'bounded json-file logs',
      field: 'LogConfig',
      expected: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
    { name: 'the first network', field: 'NetworkMode', expected: 'pier-web-production' },
    { name: 'never privileged', field: 'Privileged', expected: undefined },
    { name: 'no binds', field: 'Binds', expected: undefined },
    { name: 'no added capabilities', field: 'CapAdd', expected: undefined },
  ];
  it.each(cases)('$name: $field', ({ field, expected }) => {
    expect(built[field]).toEqual(expected);
  });

  it('publishes nothing without a container port', () => {
    expect(buildHostConfig({ ...input, containerPort: null }).PortBindings).toBeUndefined();
  });

  it("uses Docker's default bridge without networks", () => {
    expect(buildHostConfig({ ...input, networks: [] }).NetworkMode).toBe('bridge');
  });

  it('mounts named volumes, as volumes', () => {
    expect(buildHostConfig({ ...input, volumes: { 'pier-db-data': '/var/lib/postgresql/data' } }).Mounts).toEqual([
      { Type: 'volume', Source: 'pier-db-data', Target: '/var/lib/postgresql/data' },
    ]);
  });

  it('mounts the volumes named in readOnlyVolumes read-only', () => {
    const mounts = buildHostConfig({ ...input, volumes: { 'vol-a': '/a', 'vol-b': '/b' }, readOnlyVolumes: ['vol-b'] }).Mounts;
    expect(mounts).toEqual([
      { Type: 'volume', Source: 'vol-a', Target: '/a' },
      { Type: 'volume', Source: 'vol-b', Target: '/b', ReadOnly: true },
    ]);
  });

  const invalid: { name: string; input: HostConfigInput; field: string }[] = [
    {
      name: 'memory below 6 MiB',
      input: { ...input, limits: { ...input.limits, memoryBytes: MiB } },
      field: 'limits.memoryBytes',
    },
    { name: 'no CPU', input: { ...input, limits: { ...input.limits, nanoCpus: 0 } }, field: 'limits.nanoCpus' },
    { name: 'fractional CPU', input: { ...input, limits: { ...input.limits, nanoCpus: 0.5 } }, field: 'limits.nanoCpus' },
    { name: 'no processes', input: { ...input, limits: { ...input.limits, pids: -1 } }, field: 'limits.pids' },
    {
      name: 'NaN memory',
      input: { ...input, limits: { ...input.limits, memoryBytes: Number.NaN } },
      field: 'limits.memoryBytes',
    },
    { name: 'port 0', input: { ...input, containerPort: 0 }, field: 'containerPort' },
    { name: 'port 65536', input: { ...input, containerPort: 65_536 }, field: 'containerPort' },
    { name: 'a host path as volume', input: { ...input, volumes: { '/etc': '/data' } }, field: 'volumes' },
    { name: 'a relative mount path', input: { ...input, volumes: { data: 'data' } }, field: 'volumes' },
    { name: 'a mount path with ..', input: { ...input, volumes: { data: '/data/../etc' } }, field: 'volumes' },
    { name: 'a volume over /', input: { ...input, volumes: { data: '/' } }, field: 'volumes' },
    { name: 'the host network', input: { ...input, networks: ['host'] }, field: 'NetworkMode' },
    { name: "another container's network", input: { ...input, networks: ['container:abc'] }, field: 'NetworkMode' },
    { name: 'the Docker socket as mount path', input: { ...input, volumes: { data: '/var/run/docker.sock' } }, field: 'Mounts' },
  ];
  it.each(invalid)('refuses $name ($field)', ({ input, field }) => {
    expect(() => buildHostConfig(input)).toThrow(expect.objectContaining({ name: 'ValidationError', field }));
  });
});

describe('assertSafeHostConfig', () => {
  const safe = buildHostConfig(input);

  it('accepts what buildHostConfig builds, with volumes and tmpfs', () => {
    const withMounts = buildHostConfig({ ...input, volumes: { data: '/data' } });
    expect(() => assertSafeHostConfig(withMounts)).not.toThrow();
    expect(() => assertSafeHostConfig({ ...safe, Mounts: [{ Type: 'tmpfs', Source: '', Target: '/tmp' }] })).not.toThrow();
  });

  const refused: { name: string; change: Partial<Dockerode.HostConfig>; field: string }[] = [
    { name: 'privileged mode', change: { Privileged: true }, field: 'Privileged' },
    { name: 'a bind', change: { Binds: ['/srv:/srv'] }, field: 'Binds' },
    { name: 'a bind mount', change: { Mounts: [{ Type: 'bind', Source: '/srv', Target: '/srv' }] }, field: 'Mounts' },
    {
      name: 'a tmpfs with a host path',
      change: { Mounts: [{ Type: 'tmpfs', Source: '/srv', Target: '/srv' }] },
      field: 'Mounts',
    },
    { name: 'an npipe mount', change: { Mounts: [{ Type: 'npipe' as 'bind', Source: 'x', Target: '/x' }] }, field: 'Mounts' },
    {
      name: 'a volume named by a path',
      change: { Mounts: [{ Type: 'volume', Source: '/srv', Target: '/srv' }] },
      field: 'Mounts',
    },
    {
      name: 'a volume binding a host path through driver options',
      change: {
        Mounts: [
          {
            Type: 'volume',
            Source: 'data',
            Target: '/data',
            VolumeOptions: {
              NoCopy: false,
              Labels: {},
              DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: '/' } },
            },
          },
        ],
      },
      field: 'Mounts',
    },
    { name: 'the Docker socket as a bind', change: { Binds: ['/var/run/docker.sock:/var/run/docker.sock'] }, field: 'Binds' },
    {
      name: 'the Docker socket as a volume target',
      change: { Mounts: [{ Type: 'volume', Source: 'x', Target: '/docker.sock' }] },
      field: 'Mounts',
    },
    { name: 'the Docker socket as a tmpfs', change: { Tmpfs: { '/var/run/docker.sock': '' } }, field: 'Tmpfs' },
    { name: "another container's volumes", change: { VolumesFrom: ['other'] }, field: 'VolumesFrom' },
    { name: 'the host network', change: { NetworkMode: 'host' }, field: 'NetworkMode' },
    { name: "another container's network", change: { NetworkMode: 'container:abc' }, field: 'NetworkMode' },
    { name: 'the host PID namespace', change: { PidMode: 'host' }, field: 'PidMode' },
    { name: "another container's PID namespace", change: { PidMode: 'container:abc' }, field: 'PidMode' },
    { name: 'the host IPC namespace', change: { IpcMode: 'host' }, field: 'IpcMode' },
    { name: 'the host UTS namespace', change: { UTSMode: 'host' }, field: 'UTSMode' },
    { name: 'the host user namespace', change: { UsernsMode: 'host' }, field: 'UsernsMode' },
    { name: 'an added capability', change: { CapAdd: ['NET_ADMIN'] }, field: 'CapAdd' },
    { name: 'NET_RAW kept', change: { CapDrop: undefined }, field: 'CapDrop' },
    { name: 'other capabilities dropped, NET_RAW kept', change: { CapDrop: ['MKNOD'] }, field: 'CapDrop' },
    { name: 'a device', change: { Devices: [{ PathOnHost: '/dev/sda', PathInContainer: '/dev/sda' }] }, field: 'Devices' },
    { name: 'a GPU request', change: { DeviceRequests: [{ Count: -1, Capabilities: [['gpu']] }] }, field: 'DeviceRequests' },
    { name: 'a device cgroup rule', change: { DeviceCgroupRules: ['c 1:3 mr'] }, field: 'DeviceCgroupRules' },
    { name: 'seccomp unconfined', change: { SecurityOpt: ['seccomp=unconfined'] }, field: 'SecurityOpt' },
    { name: 'AppArmor unconfined', change: { SecurityOpt: ['apparmor:unconfined'] }, field: 'SecurityOpt' },
    { name: 'SELinux labels off', change: { SecurityOpt: ['label=disable'] }, field: 'SecurityOpt' },
    { name: 'another cgroup parent', change: { CgroupParent: '/' }, field: 'CgroupParent' },
    { name: 'every port published', change: { PublishAllPorts: true }, field: 'PublishAllPorts' },
    {
      name: 'a port on every address',
      change: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '80' }] } },
      field: 'PortBindings',
    },
    { name: 'a port without HostIp', change: { PortBindings: { '80/tcp': [{ HostPort: '80' }] } }, field: 'PortBindings' },
    {
      name: 'a port on 0.0.0.0',
      change: { PortBindings: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] } },
      field: 'PortBindings',
    },
    { name: 'a port on ::', change: { PortBindings: { '80/tcp': [{ HostIp: '::', HostPort: '' }] } }, field: 'PortBindings' },
    { name: 'no memory limit', change: { Memory: undefined }, field: 'Memory' },
    { name: 'memory limit 0', change: { Memory: 0 }, field: 'Memory' },
    { name: 'unlimited swap', change: { MemorySwap: -1 }, field: 'MemorySwap' },
    { name: 'no CPU limit', change: { NanoCpus: undefined }, field: 'NanoCpus' },
    { name: 'no process limit', change: { PidsLimit: undefined }, field: 'PidsLimit' },
    { name: 'unlimited processes', change: { PidsLimit: -1 }, field: 'PidsLimit' },
  ];
  it.each(refused)('refuses $name ($field)', ({ change, field }) => {
    let error: unknown;
    try {
      assertSafeHostConfig({ ...safe, ...change });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field, message: expect.stringContaining(`HostConfig.${field}`) });
  });
});
