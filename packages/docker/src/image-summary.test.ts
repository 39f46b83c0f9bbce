import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { exposedTcpPorts, labelFilters, toImageSummary } from './image-summary.ts';

const info = (overrides: Partial<Dockerode.ImageInfo>): Dockerode.ImageInfo => ({
  Id: 'sha256:aa',
  ParentId: '',
  RepoTags: ['pier/web:1'],
  RepoDigests: [],
  Created: 1_700_000_000,
  Size: 1234,
  VirtualSize: 1234,
  SharedSize: 0,
  Labels: { 'pier.app': 'web' },
  Containers: 0,
  ...overrides,
});

describe('toImageSummary', () => {
  const cases: { name: string; info: Dockerode.ImageInfo; tags: string[]; labels: Record<string, string> }[] = [
    { name: 'tagged, labelled', info: info({}), tags: ['pier/web:1'], labels: { 'pier.app': 'web' } },
    { name: 'untagged', info: info({ RepoTags: ['<none>:<none>'] }), tags: [], labels: { 'pier.app': 'web' } },
    { name: 'no tags, no labels', info: info({ RepoTags: undefined, Labels: null as never }), tags: [], labels: {} },
  ];
  it.each(cases)('$name', ({ info, tags, labels }) => {
    expect(toImageSummary(info)).toEqual({
      imageId: 'sha256:aa',
      tags,
      labels,
      createdAt: new Date('2023-11-14T22:13:20.000Z'),
      sizeBytes: 1234,
    });
  });
});

describe('labelFilters', () => {
  it.each([
    [{}, undefined],
    [{ 'pier.app': 'web' }, { label: ['pier.app=web'] }],
    [{ 'pier.app': 'web', 'pier.env': 'a=b' }, { label: ['pier.app=web', 'pier.env=a=b'] }],
  ])('%j → %j', (labels, expected) => {
    expect(labelFilters(labels)).toEqual(expected);
  });
});

describe('exposedTcpPorts', () => {
  it.each<[string, Record<string, unknown> | null | undefined, number[]]>([
    ['none', undefined, []],
    ['null (an image without EXPOSE)', null, []],
    ['one', { '3000/tcp': {} }, [3000]],
    ['tcp only, ascending', { '9229/tcp': {}, '53/udp': {}, '3000/tcp': {} }, [3000, 9229]],
    ['no protocol means tcp', { '8000': {} }, [8000]],
    ['nonsense is skipped', { 'abc/tcp': {}, '70000/tcp': {}, '0/tcp': {} }, []],
  ])('%s', (_what, exposed, ports) => {
    expect(exposedTcpPorts(exposed)).toEqual(ports);
  });
});
