import { randomBytes } from 'node:crypto';
import { ConflictError, type ContainerSpec, NotFoundError } from '@pier/core';
import Dockerode from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerContainers } from './docker-containers.ts';
import { DockerRuntime } from './docker-runtime.ts';

// What the port's conformance suite (test/conformance/container-operations.ts) does not cover: Docker specifics.
const run = randomBytes(4).toString('hex');
const app = `pier-ops-${run}`;
const labels = { 'pier.app': app, 'pier.test': '1' };
/** Marks the unlabelled container this file makes, to find it again: it has `pier.test` but no `pier.app`. */
const foreignLabels = { 'pier.test': '1', 'pier.test.run': run };
const ops = new DockerContainers();
const { docker } = ops;

afterAll(async () => {
  for (const filter of [`pier.app=${app}`, `pier.test.run=${run}`]) {
    const containers = await docker.listContainers({ all: true, filters: { label: ['pier.test=1', filter] } });
    for (const container of containers) await docker.getContainer(container.Id).remove({ force: true });
  }
  const networks = await docker.listNetworks({ filters: { label: [`pier.app=${app}`] } });
  for (const network of networks) await docker.getNetwork(network.Id).remove();
});

async function networksNamed(name: string): Promise<number> {
  return (await docker.listNetworks({ filters: { name: [name] } })).filter((network) => network.Name === name).length;
}

describe('DockerContainers', () => {
  it('never lists, stops or removes a container without the pier.app label', async () => {
    const foreign = await docker.createContainer({
      name: `pier-foreign-${run}`,
      Image: 'pier-local/debian:bookworm',
      Cmd: ['true'],
      Labels: foreignLabels,
    });
    expect((await ops.listContainers({})).map((c) => c.id)).not.toContain(foreign.id);
    expect(await ops.listContainers({ 'pier.test.run': run })).toEqual([]);
    await expect(ops.stopContainer(foreign.id, 1)).rejects.toBeInstanceOf(ConflictError);
    await expect(ops.removeContainer(foreign.id)).rejects.toBeInstanceOf(ConflictError);
    expect((await foreign.inspect()).Id).toBe(foreign.id);
  });

  it("refuses to adopt or remove Docker's own networks", async () => {
    await expect(ops.ensureNetwork('bridge', labels)).rejects.toBeInstanceOf(ConflictError);
    await expect(ops.removeNetwork('bridge')).rejects.toBeInstanceOf(ConflictError);
    await expect(ops.removeNetwork('host')).rejects.toBeInstanceOf(ConflictError);
  });

  it('copes with duplicate network names, which Docker allows: keeps using them, removes them all', async () => {
    const name = `${app}-dup`;
    for (const _ of [1, 2]) await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: false });
    expect(await networksNamed(name)).toBe(2);
    await ops.ensureNetwork(name, labels);
    await ops.removeNetwork(name);
    expect(await networksNamed(name)).toBe(0);
  });

  it('when a concurrent caller created the network first, removes its own and keeps the older one', async () => {
    const name = `${app}-race`;
    /** A client whose network creation loses a race: another caller's network of that name appears just before. */
    class RacedDocker extends Dockerode {
      override async createNetwork(options: Dockerode.NetworkCreateOptions): Promise<Dockerode.Network> {
        await super.createNetwork({
          ...options,
          Labels: { ...options.Labels, 'pier.test.racer': 'other' },
          CheckDuplicate: false,
        });
        return super.createNetwork({ ...options, CheckDuplicate: false });
      }
    }
    await new DockerContainers({ docker: new RacedDocker() }).ensureNetwork(name, labels);
    const left = (await docker.listNetworks({ filters: { name: [name] } })).filter((network) => network.Name === name);
    expect(left.map((network) => network.Labels?.['pier.test.racer'])).toEqual(['other']);
    await ops.removeNetwork(name);
  });

  it('removes a container it could not connect or start', async () => {
    await ops.ensureNetwork(`${app}-net`, labels);
    const spec: ContainerSpec = {
      name: `${app}-unstartable`,
      image: 'pier-local/debian:bookworm',
      env: {},
      labels,
      containerPort: null,
      networks: [`${app}-net`, `${app}-missing`],
      limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 100_000_000, pids: 16 },
      command: ['sleep', '60'],
    };
    await expect(ops.runContainer(spec)).rejects.toThrow(/did not start: .*missing/);
    expect(await ops.listContainers(labels)).toEqual([]);
  });

  it("writes a file owned by the image's user its spec names, making missing directories; an unknown user is refused", async () => {
    const spec: ContainerSpec = {
      name: `${app}-owned`,
      image: 'pier-local/postgres',
      env: {},
      labels,
      containerPort: null,
      networks: ['none'],
      limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 100_000_000, pids: 16 },
      command: ['sleep', '60'],
      files: [
        { path: '/etc/pier-test/owned.key', content: 'secret\n', mode: 0o600, owner: 'postgres' },
        { path: '/etc/pier-test/root.crt', content: 'public\n', mode: 0o644 },
      ],
    };
    const info = await ops.runContainer(spec);
    const ids = (await ops.exec(info.id, ['id', '-u', 'postgres'])).stdout.trim();
    const listing = await ops.exec(info.id, [
      'stat',
      '-c',
      '%n %u %a',
      '/etc/pier-test',
      '/etc/pier-test/owned.key',
      '/etc/pier-test/root.crt',
    ]);
    expect(listing.stdout.trim().split('\n')).toEqual([
      '/etc/pier-test 0 755',
      `/etc/pier-test/owned.key ${ids} 600`,
      '/etc/pier-test/root.crt 0 644',
    ]);
    expect((await ops.exec(info.id, ['cat', '/etc/pier-test/owned.key'], { user: 'postgres' })).stdout).toBe('secret\n');
    await ops.removeContainer(info.id);

    const unknown = {
      ...spec,
      name: `${app}-unowned`,
      files: [{ path: '/etc/x', content: 'x', mode: 0o600, owner: 'nobody-here' }],
    };
    await expect(ops.runContainer(unknown)).rejects.toThrow(/the image has no user "nobody-here"/);
    expect(await ops.listContainers(labels)).toEqual([]);
  });

  it('reading the logs of a missing container is NotFoundError', async () => {
    const reading = (async () => {
      for await (const _ of ops.containerLogs('0123456789ab0123456789ab', {})) return;
    })();
    await expect(reading).rejects.toBeInstanceOf(NotFoundError);
  });

  it('is also what DockerRuntime does for containers', async () => {
    const runtime = new DockerRuntime({ docker });
    expect(await runtime.listContainers(labels)).toEqual([]);
    await expect(runtime.removeNetwork(`${app}-never`)).resolves.toBeUndefined();
  });
});
