import type { ContainerSpec } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { containerCreateOptions, networkEndpoint } from './container-create.ts';

const spec: ContainerSpec = {
  name: 'pier-web-production-v3-1a2b3c',
  image: 'sha256:abc',
  env: { PORT: '8080', DATABASE_URL: 'postgres://x/y?a=b' },
  labels: { 'pier.app': 'web', 'pier.env': 'production' },
  containerPort: 8080,
  networks: ['pier-web-production', 'pier-web-services'],
  aliases: ['web'],
  limits: { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1_000_000_000, pids: 512 },
  command: ['node', 'server.js'],
};

describe('containerCreateOptions', () => {
  const options = containerCreateOptions(spec);
  const cases: { field: keyof typeof options; expected: unknown }[] = [
    { field: 'name', expected: 'pier-web-production-v3-1a2b3c' },
    { field: 'Image', expected: 'sha256:abc' },
    { field: 'Env', expected: ['PORT=8080', 'DATABASE_URL=postgres://x/y?a=b'] },
    { field: 'Labels', expected: { 'pier.app': 'web', 'pier.env': 'production' } },
    { field: 'Cmd', expected: ['node', 'server.js'] },
    { field: 'ExposedPorts', expected: { '8080/tcp': {} } },
    { field: 'NetworkingConfig', expected: { EndpointsConfig: { 'pier-web-production': { Aliases: ['web'] } } } },
  ];
  it.each(cases)('$field', ({ field, expected }) => {
    expect(options[field]).toEqual(expected);
  });

  it('uses the HostConfig of buildHostConfig', () => {
    expect(options.HostConfig).toMatchObject({ NetworkMode: 'pier-web-production', Memory: 512 * 1024 * 1024, Init: true });
  });

  it("keeps the image's command, publishes nothing and joins Docker's bridge when the spec says nothing", () => {
    const bare = containerCreateOptions({ ...spec, command: undefined, containerPort: null, networks: [], aliases: undefined });
    expect(bare.Cmd).toBeUndefined();
    expect(bare.ExposedPorts).toBeUndefined();
    expect(bare.NetworkingConfig).toBeUndefined();
    expect(bare.HostConfig?.NetworkMode).toBe('bridge');
  });

  const refused: { name: string; change: Partial<ContainerSpec>; field: string }[] = [
    { name: 'a name with a slash', change: { name: 'a/b' }, field: 'name' },
    { name: 'a one-letter name', change: { name: 'a' }, field: 'name' },
    { name: 'no image', change: { image: ' ' }, field: 'image' },
    { name: 'no pier.app label', change: { labels: { 'pier.env': 'x' } }, field: 'labels' },
    { name: 'an env key with =', change: { env: { 'A=B': 'x' } }, field: 'env' },
    { name: 'an empty env key', change: { env: { '': 'x' } }, field: 'env' },
    { name: 'a network name with a space', change: { networks: ['a b'] }, field: 'networks' },
    { name: 'an alias with a colon', change: { aliases: ['a:b'] }, field: 'networks' },
    { name: 'aliases without a network', change: { networks: [] }, field: 'aliases' },
    { name: 'an empty command', change: { command: [] }, field: 'command' },
    { name: 'the host network', change: { networks: ['host'] }, field: 'NetworkMode' },
  ];
  it.each(refused)('refuses $name', ({ change, field }) => {
    expect(() => containerCreateOptions({ ...spec, ...change })).toThrow(
      expect.objectContaining({ name: 'ValidationError', field }),
    );
  });
});

describe('networkEndpoint', () => {
  it.each([
    [['web', 'api'], { Aliases: ['web', 'api'] }],
    [[], {}],
    [undefined, {}],
  ])('aliases %j → %j', (aliases, expected) => {
    expect(networkEndpoint({ ...spec, aliases })).toEqual(expected);
  });
});
