import { randomBytes, randomInt } from 'node:crypto';
import { ConflictError, cidrsOverlap } from '@pier/core';
import Dockerode from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerContainers } from './docker-containers.ts';

// Subnets from PIER_NETWORK_POOL, against the real Engine. Each run takes its own corner of 10.214.0.0/16
// (the default pool is 10.213.0.0/16), so concurrent runs and test files keep apart.
const run = randomBytes(4).toString('hex');
const app = `pier-pool-${run}`;
const labels = { 'pier.app': app, 'pier.test': '1' };
const docker = new Dockerode();
const block = randomInt(0, 64) * 4; // 10.214.<block>.0/22: four /24s for this run
const pool = (prefix: 22 | 23, offset = 0) => ({ cidr: `10.214.${block + offset}.0/${prefix}`, size: 24 });

afterAll(async () => {
  for (const filter of [`pier.app=${app}`, `pier.test.run=${run}`]) {
    for (const network of await docker.listNetworks({ filters: { label: [filter] } })) {
      await docker.getNetwork(network.Id).remove();
    }
  }
});

async function subnetOf(name: string): Promise<string | undefined> {
  const [network] = (await docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
  return network?.IPAM?.Config?.[0]?.Subnet;
}

describe('networks from the pool', () => {
  it('each network gets its own subnet from the pool; a full pool is a clear error, and a freed subnet is used again', async () => {
    const ops = new DockerContainers({ networkPool: pool(23) });
    await Promise.all([ops.ensureNetwork(`${app}-a`, labels), ops.ensureNetwork(`${app}-b`, labels)]);
    const a = await subnetOf(`${app}-a`);
    const b = await subnetOf(`${app}-b`);
    expect([a, b].sort()).toEqual([`10.214.${block}.0/24`, `10.214.${block + 1}.0/24`]);
    const full = ops.ensureNetwork(`${app}-c`, labels);
    await expect(full).rejects.toBeInstanceOf(ConflictError);
    await expect(full).rejects.toThrow(/every subnet of the network pool 10\.214\.\d+\.0\/23 is taken .*PIER_NETWORK_POOL/);
    expect(await subnetOf(`${app}-c`)).toBeUndefined();
    await ops.removeNetwork(`${app}-a`);
    await ops.ensureNetwork(`${app}-c`, labels);
    expect(await subnetOf(`${app}-c`)).toBe(a);
    // Ensuring an existing network changes nothing.
    await ops.ensureNetwork(`${app}-c`, labels);
    expect(await subnetOf(`${app}-c`)).toBe(a);
    await ops.removeNetwork(`${app}-b`);
    await ops.removeNetwork(`${app}-c`);
  });

  it('skips a subnet another network already has, Pier’s or not', async () => {
    const taken = `10.214.${block + 2}.0/24`;
    await docker.createNetwork({
      Name: `pier-foreign-${run}`,
      Driver: 'bridge',
      Labels: { 'pier.test': '1', 'pier.test.run': run },
      IPAM: { Driver: 'default', Config: [{ Subnet: taken }] },
    });
    const ops = new DockerContainers({ networkPool: pool(23, 2) });
    await ops.ensureNetwork(`${app}-d`, labels);
    expect(await subnetOf(`${app}-d`)).toBe(`10.214.${block + 3}.0/24`);
    await expect(ops.ensureNetwork(`${app}-e`, labels)).rejects.toThrow(/is taken/);
    await ops.removeNetwork(`${app}-d`);
  });

  it('holds more networks than Docker’s default pools (about 30): 40 here', async () => {
    const ops = new DockerContainers({ networkPool: { cidr: '10.215.0.0/16', size: 26 } });
    const names = Array.from({ length: 40 }, (_, i) => `${app}-many-${i}`);
    try {
      for (const name of names) await ops.ensureNetwork(name, labels);
      const subnets = await Promise.all(names.map(subnetOf));
      expect(new Set(subnets).size).toBe(40);
      for (const subnet of subnets) expect(cidrsOverlap(subnet as string, '10.215.0.0/16')).toBe(true);
    } finally {
      for (const name of names) await ops.removeNetwork(name);
    }
  }, 120_000);
});
