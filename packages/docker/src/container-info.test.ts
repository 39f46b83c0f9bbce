import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { summaryToContainerInfo, toContainerInfo } from './container-info.ts';

type State = Dockerode.ContainerInspectInfo['State'];
type Settings = Dockerode.ContainerInspectInfo['NetworkSettings'];
const ZERO = '0001-01-01T00:00:00Z';

function inspect(state: Partial<State>, settings: Partial<Settings> = {}): Dockerode.ContainerInspectInfo {
  return {
    Id: 'c1',
    Name: '/pier-web-production-v1-aa',
    Image: 'sha256:img',
    Config: { Labels: { 'pier.app': 'web' } },
    State: { Status: 'running', ExitCode: 0, StartedAt: '2025-03-01T10:00:00.123456789Z', FinishedAt: ZERO, ...state },
    NetworkSettings: {
      Ports: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }] },
      Networks: { 'pier-web-production': { IPAddress: '172.20.0.2' } },
      ...settings,
    },
  } as unknown as Dockerode.ContainerInspectInfo;
}

describe('toContainerInfo', () => {
  it('a running container', () => {
    expect(toContainerInfo(inspect({}))).toEqual({
      id: 'c1',
      name: 'pier-web-production-v1-aa',
      imageId: 'sha256:img',
      labels: { 'pier.app': 'web' },
      status: 'running',
      exitCode: null,
      oomKilled: false,
      startedAt: new Date('2025-03-01T10:00:00.123Z'),
      finishedAt: null,
      hostPort: 32768,
      networks: { 'pier-web-production': '172.20.0.2' },
    });
  });

  const cases: { name: string; inspect: Dockerode.ContainerInspectInfo; expected: Record<string, unknown> }[] = [
    {
      name: 'exited: exit code and finish time, no port, no address',
      inspect: inspect(
        { Status: 'exited', ExitCode: 3, FinishedAt: '2025-03-01T10:00:05Z' },
        { Ports: {}, Networks: { 'pier-web-production': { IPAddress: '' } as never } },
      ),
      expected: { status: 'exited', exitCode: 3, finishedAt: new Date('2025-03-01T10:00:05Z'), hostPort: null, networks: {} },
    },
    {
      name: 'created: never started',
      inspect: inspect({ Status: 'created', StartedAt: ZERO }, { Ports: null as never }),
      expected: { status: 'created', exitCode: null, startedAt: null, hostPort: null },
    },
    { name: 'dead', inspect: inspect({ Status: 'dead', ExitCode: 137 }), expected: { status: 'dead', exitCode: 137 } },
    {
      name: 'killed out of memory',
      inspect: inspect({ Status: 'exited', ExitCode: 137, OOMKilled: true }),
      expected: { status: 'exited', exitCode: 137, oomKilled: true },
    },
    {
      name: 'running again after an out-of-memory kill: the old flag does not count',
      inspect: inspect({ Status: 'running', OOMKilled: true }),
      expected: { status: 'running', oomKilled: false },
    },
    {
      name: 'a port bound elsewhere than 127.0.0.1 is not reported',
      inspect: inspect({}, { Ports: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '80' }] } }),
      expected: { hostPort: null },
    },
    {
      name: 'an exposed, unpublished port',
      inspect: inspect({}, { Ports: { '8080/tcp': null as never } }),
      expected: { hostPort: null },
    },
  ];
  it.each(cases)('$name', ({ inspect, expected }) => {
    expect(toContainerInfo(inspect)).toMatchObject(expected);
  });

  it('refuses a status it does not know', () => {
    expect(() => toContainerInfo(inspect({ Status: 'hibernating' }))).toThrow(/unknown container status/);
  });
});

describe('summaryToContainerInfo', () => {
  it('keeps what the list tells, and nothing it does not', () => {
    const summary = {
      Id: 'abc',
      Names: ['/pier-shop-production-v3-aaaaaa'],
      ImageID: 'sha256:1',
      Labels: { 'pier.app': 'shop', 'pier.role': 'web' },
      State: 'exited',
    } as unknown as Dockerode.ContainerInfo;
    expect(summaryToContainerInfo(summary)).toEqual({
      id: 'abc',
      name: 'pier-shop-production-v3-aaaaaa',
      imageId: 'sha256:1',
      labels: { 'pier.app': 'shop', 'pier.role': 'web' },
      status: 'exited',
      exitCode: null,
      oomKilled: false,
      startedAt: null,
      finishedAt: null,
      hostPort: null,
      networks: {},
    });
  });

  it('refuses a state the port does not know', () => {
    const summary = { Id: 'x', Names: [], ImageID: '', Labels: {}, State: 'zombie' } as unknown as Dockerode.ContainerInfo;
    expect(() => summaryToContainerInfo(summary)).toThrow(/unknown container status: zombie/);
  });
});
