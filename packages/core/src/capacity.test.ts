import { describe, expect, it } from 'vitest';
import {
  allocatableBytes,
  type CapacityPolicy,
  type CapacityRequest,
  decideCapacity,
  formatBytes,
  type HostResources,
  systemReserveBytes,
} from './capacity.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A 24 GiB host like the one these figures were taken on: the default reserve is 2.4 GiB, 21.6 GiB is allocatable. */
const host: HostResources = {
  memoryTotalBytes: 24 * GiB,
  memoryAvailableBytes: 20 * GiB,
  disks: [
    { path: '/', freeBytes: 50 * GiB },
    { path: '/var/lib/docker', freeBytes: 40 * GiB },
  ],
};
const strict: CapacityPolicy = { reserveBytes: null, overcommit: 1 };
const scale = (memoryBytes: number): CapacityRequest => ({
  kind: 'scale',
  action: 'scaling staging to 10 replicas',
  memoryBytes,
});

describe('systemReserveBytes and allocatableBytes', () => {
  it.each<[string, number, CapacityPolicy, number, number]>([
    ['24 GiB, default: 10 %', 24 * GiB, strict, 2.4 * GiB, 21.6 * GiB],
    ['2 GiB, default: at least 512 MiB', 2 * GiB, strict, 512 * MiB, 1.5 * GiB],
    ['a reserve set by hand', 24 * GiB, { reserveBytes: 4 * GiB, overcommit: 1 }, 4 * GiB, 20 * GiB],
    ['overcommit 1.5 promises half again', 24 * GiB, { reserveBytes: 4 * GiB, overcommit: 1.5 }, 4 * GiB, 30 * GiB],
    ['a reserve above the total leaves nothing', 1 * GiB, { reserveBytes: 2 * GiB, overcommit: 1 }, 2 * GiB, 0],
  ])('%s', (_, total, policy, reserve, allocatable) => {
    expect(systemReserveBytes(total, policy.reserveBytes)).toBeCloseTo(reserve, -3);
    expect(allocatableBytes(total, policy)).toBeCloseTo(allocatable, -3);
  });
});

describe('decideCapacity', () => {
  it.each<[string, { reserved: number; request: CapacityRequest; policy?: CapacityPolicy; host?: HostResources }, boolean]>([
    ['fits with room to spare', { reserved: 4 * GiB, request: scale(2 * GiB) }, true],
    ['fits exactly', { reserved: 20 * GiB, request: scale(allocatableBytes(24 * GiB, strict) - 20 * GiB) }, true],
    ['one MiB past what is left', { reserved: 20 * GiB, request: scale(1.6 * GiB + MiB) }, false],
    ['100 GiB on a 24 GiB host', { reserved: 0, request: scale(100 * GiB) }, false],
    ['a scale-down always fits, even over capacity', { reserved: 30 * GiB, request: scale(-2 * GiB) }, true],
    ['nothing asked: fits', { reserved: 30 * GiB, request: scale(0) }, true],
    [
      'overcommit 2 lets it in',
      { reserved: 20 * GiB, request: scale(8 * GiB), policy: { reserveBytes: null, overcommit: 2 } },
      true,
    ],
    [
      'the guard off lets anything in',
      { reserved: 90 * GiB, request: scale(100 * GiB), policy: { reserveBytes: null, overcommit: null } },
      true,
    ],
    [
      "memory fits but Docker's disk is short of the headroom",
      { reserved: 0, request: scale(GiB), host: { ...host, disks: [{ path: '/var/lib/docker', freeBytes: 900 * MiB }] } },
      false,
    ],
    [
      'a build needs its own disk on top of the headroom',
      {
        reserved: 0,
        request: { kind: 'build', action: 'building', memoryBytes: 2 * GiB, diskBytes: 2 * GiB },
        host: { ...host, disks: [{ path: '/', freeBytes: 2.5 * GiB }] },
      },
      false,
    ],
  ])('%s', (_, { reserved, request, policy, host: given }, ok) => {
    const decision = decideCapacity({ host: given ?? host, reservedBytes: reserved, policy: policy ?? strict, request });
    expect(decision.ok).toBe(ok);
  });

  it('names the figures and what to change', () => {
    const decision = decideCapacity({ host, reservedBytes: 18 * GiB, policy: strict, request: scale(5 * GiB) });
    expect(decision).toEqual({
      ok: false,
      reason:
        "scaling staging to 10 replicas reserves 5.0 GiB of memory, but 3.6 GiB is left: 21.6 GiB of this host's 24.0 GiB " +
        'is allocatable and 18.0 GiB is reserved already (20.0 GiB is unused right now). ' +
        'Lower replicas or memoryMb, or scale down another environment, or set PIER_CAPACITY_OVERCOMMIT.',
    });
  });

  it('says the overcommit ratio when there is one, and never a negative amount left', () => {
    const decision = decideCapacity({
      host,
      reservedBytes: 40 * GiB,
      policy: { reserveBytes: 4 * GiB, overcommit: 1.5 },
      request: { kind: 'rollout', action: 'rolling out release v3 of web-production', memoryBytes: 512 * MiB },
    });
    expect(decision.ok).toBe(false);
    expect(!decision.ok && decision.reason).toMatch(
      /^rolling out release v3 of web-production reserves 512 MiB of memory, but 0 MiB is left: 30\.0 GiB of this host's 24\.0 GiB is allocatable \(× 1\.5 overcommit\) and 40\.0 GiB/,
    );
    expect(!decision.ok && decision.reason).toContain('Lower the replicas or memoryMb of its process types');
  });

  it('names the disk that is short', () => {
    const decision = decideCapacity({
      host: {
        ...host,
        disks: [
          { path: '/', freeBytes: 50 * GiB },
          { path: '/var/lib/docker', freeBytes: 2.5 * GiB },
        ],
      },
      reservedBytes: 0,
      policy: strict,
      request: { kind: 'build', action: 'building web at abc123', memoryBytes: 2 * GiB, diskBytes: 2 * GiB },
    });
    expect(decision).toEqual({
      ok: false,
      reason:
        'building web at abc123 writes up to 2.0 GiB and needs 1.0 GiB of disk to stay free, but /var/lib/docker has 2.5 GiB free. ' +
        'Free disk space (old images, backups), or set PIER_CAPACITY_OVERCOMMIT=off.',
    });
  });
});

describe('formatBytes', () => {
  it.each<[number, string]>([
    [0, '0 MiB'],
    [512 * MiB, '512 MiB'],
    [1023 * MiB, '1023 MiB'],
    [GiB, '1.0 GiB'],
    [21.6 * GiB, '21.6 GiB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
