import type { ContainerInfo, WorkloadInstance } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { toWorkloadInstance } from './docker-workload.ts';

const STARTED = new Date('2025-03-01T10:00:00Z');

function info(overrides: Partial<ContainerInfo>): ContainerInfo {
  return {
    id: 'c1',
    name: 'pier-web-production-r3-aa',
    imageId: 'sha256:img',
    labels: { 'pier.app': 'web' },
    status: 'running',
    exitCode: null,
    oomKilled: false,
    startedAt: STARTED,
    finishedAt: null,
    hostPort: 32768,
    networks: { 'pier-web-production': '172.20.0.2' },
    ...overrides,
  };
}

describe('toWorkloadInstance', () => {
  it('a running container: its published port on loopback is the address', () => {
    expect(toWorkloadInstance(info({}))).toEqual({
      id: 'c1',
      name: 'pier-web-production-r3-aa',
      labels: { 'pier.app': 'web' },
      status: 'running',
      exitCode: null,
      oomKilled: false,
      startedAt: STARTED,
      address: { host: '127.0.0.1', port: 32768 },
    });
  });

  const cases: { name: string; info: ContainerInfo; expected: Partial<WorkloadInstance> }[] = [
    {
      name: 'created: starting, nothing published yet',
      info: info({ status: 'created', startedAt: null, hostPort: null }),
      expected: { status: 'starting', startedAt: null, address: null },
    },
    {
      name: 'restarting: starting',
      info: info({ status: 'restarting', hostPort: null }),
      expected: { status: 'starting', address: null },
    },
    {
      name: 'paused: still running, still reached there',
      info: info({ status: 'paused' }),
      expected: { status: 'running', address: { host: '127.0.0.1', port: 32768 } },
    },
    {
      name: 'running with nothing published: no address',
      info: info({ hostPort: null }),
      expected: { status: 'running', address: null },
    },
    {
      name: 'exited: its exit code, no address',
      info: info({ status: 'exited', exitCode: 3, hostPort: null }),
      expected: { status: 'exited', exitCode: 3, address: null },
    },
    {
      name: 'dead: exited',
      info: info({ status: 'dead', exitCode: 137, hostPort: null }),
      expected: { status: 'exited', exitCode: 137, address: null },
    },
    {
      name: 'killed for its memory: exited, out of memory',
      info: info({ status: 'exited', exitCode: 137, oomKilled: true, hostPort: null }),
      expected: { status: 'exited', exitCode: 137, oomKilled: true },
    },
    {
      name: 'killed by a stop: exited, not out of memory',
      info: info({ status: 'exited', exitCode: 137, oomKilled: false, hostPort: null }),
      expected: { status: 'exited', exitCode: 137, oomKilled: false },
    },
    {
      name: 'removing: exited, even if a port were still reported',
      info: info({ status: 'removing' }),
      expected: { status: 'exited', address: null },
    },
  ];

  it.each(cases)('$name', ({ info, expected }) => {
    expect(toWorkloadInstance(info)).toMatchObject(expected);
  });
});
