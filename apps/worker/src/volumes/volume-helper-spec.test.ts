import { describe, expect, it } from 'vitest';
import { measuredFrom, volumeHelperSpec } from './volume-helper-spec.ts';

const volume = {
  id: '0123456789abcdef',
  app: 'shop',
  env: 'production',
  environmentId: 'e1',
  name: 'data',
  dockerName: 'pier-vol-shop-production-data-a1b2c3',
};

describe('volumeHelperSpec', () => {
  it.each([
    ['volume-backup', ['pier-vol-shop-production-data-a1b2c3']],
    ['volume-restore', undefined],
  ] as const)('a %s helper: no network, the volume at /volume, read-only %j', (role, readOnly) => {
    const spec = volumeHelperSpec({ volume, image: 'pier-local/debian', instance: 'pier', role, suffix: 'x1' });
    expect(spec).toMatchObject({
      name: `pier-${role}-01234567-x1`,
      image: 'pier-local/debian',
      containerPort: null,
      networks: ['none'],
      volumes: { 'pier-vol-shop-production-data-a1b2c3': '/volume' },
      command: ['sleep', 'infinity'],
      labels: { 'pier.app': 'shop', 'pier.role': role, 'pier.volume': 'data', 'pier.instance': 'pier' },
    });
    expect(spec.readOnlyVolumes).toEqual(readOnly);
  });
});

describe('measuredFrom', () => {
  it.each([
    ['', { files: 0, bytes: 0 }],
    ['11 5\n', { files: 1, bytes: 5 }],
    ['11 5\n12 0\n13 70000\n', { files: 3, bytes: 70_005 }],
    ['11 5\n13 70000\n13 70000\n', { files: 3, bytes: 70_005 }], // a hard link: two names, its bytes once
  ])('%j → %j', (output, expected) => {
    expect(measuredFrom(output)).toEqual(expected);
  });
});
