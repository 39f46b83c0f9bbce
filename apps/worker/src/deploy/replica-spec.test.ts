import { describe, expect, it } from 'vitest';
import { PROCESS_SHELL } from './process-command.ts';
import { replicaSpec } from './replica-spec.ts';

const input = {
  app: 'web',
  env: 'staging',
  environmentId: 'env-1',
  release: { id: 'rel-1', version: 3, imageId: 'sha256:abc', networks: ['pier-svc-db'] },
  config: { GREETING: 'hi' },
  instance: 'pier',
  suffix: '1a2b3c',
};

describe('replicaSpec', () => {
  it('is one container of the release: name, image, labels, networks', () => {
    expect(replicaSpec(input)).toMatchObject({
      name: 'pier-web-staging-v3-1a2b3c',
      image: 'sha256:abc',
      labels: {
        'pier.app': 'web',
        'pier.env': 'staging',
        'pier.environment-id': 'env-1',
        'pier.release': 'rel-1',
        'pier.role': 'web',
        'pier.instance': 'pier',
      },
      networks: ['pier-web-staging', 'pier-svc-db'],
    });
  });

  it.each<[string, number | null | undefined, number]>([
    ['a release made before ports were kept', undefined, 8080],
    ['a release without a port', null, 8080],
    ['the release’s port', 3000, 3000],
  ])('%s: listens on %s', (_what, port, expected) => {
    const spec = replicaSpec({ ...input, release: { ...input.release, port } });
    expect(spec.containerPort).toBe(expected);
    expect(spec.env).toEqual({ GREETING: 'hi', PORT: String(expected) });
  });

  it('PORT is Pier’s, whatever the variables say', () => {
    const spec = replicaSpec({ ...input, config: { PORT: '1234' }, release: { ...input.release, port: 3000 } });
    expect(spec.env.PORT).toBe('3000');
  });

  it('a worker: its own name, role and process label, its command through the shell, no published port, its volumes', () => {
    const spec = replicaSpec({
      ...input,
      processType: 'worker',
      command: 'node worker.js --queue "a b"',
      volumes: { 'pier-vol-1': '/data' },
    });
    expect(spec).toMatchObject({
      name: 'pier-web-staging-v3-worker-1a2b3c',
      labels: { 'pier.role': 'process', 'pier.process': 'worker' },
      containerPort: null,
      command: ['/bin/sh', '-c', PROCESS_SHELL, 'pier-process', 'node worker.js --queue "a b"'],
      volumes: { 'pier-vol-1': '/data' },
    });
    expect(spec.env.PORT).toBe('8080');
  });

  it('web with no command of its own runs the image’s command', () => {
    const spec = replicaSpec({ ...input, processType: 'web', command: null });
    expect(spec.command).toBeUndefined();
    expect(spec.labels['pier.process']).toBe('web');
  });
});
