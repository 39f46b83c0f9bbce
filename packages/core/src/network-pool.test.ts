import { describe, expect, it } from 'vitest';
import {
  cidrsOverlap,
  DEFAULT_NETWORK_POOL,
  networkOfAddress,
  networkPoolCapacity,
  networkPoolProblem,
  parseCidr,
  subnetCandidates,
} from './network-pool.ts';

describe('network pool', () => {
  it('the default holds 256 networks of 254 addresses', () => {
    expect(networkPoolProblem(DEFAULT_NETWORK_POOL)).toBeUndefined();
    expect(networkPoolCapacity(DEFAULT_NETWORK_POOL)).toBe(256);
  });

  it.each([
    [{ cidr: '10.213.0.0/16', size: 26 }, undefined],
    [{ cidr: '192.168.64.0/20', size: 24 }, undefined],
    [{ cidr: '10.213.0.0/16', size: 16 }, undefined],
    [{ cidr: '10.213.0.1/16', size: 24 }, 'PIER_NETWORK_POOL'],
    [{ cidr: '10.213.0.0', size: 24 }, 'PIER_NETWORK_POOL'],
    [{ cidr: '10.213.0.0/33', size: 24 }, 'PIER_NETWORK_POOL'],
    [{ cidr: '10.256.0.0/16', size: 24 }, 'PIER_NETWORK_POOL'],
    [{ cidr: '010.1.0.0/16', size: 24 }, 'PIER_NETWORK_POOL'],
    [{ cidr: 'fd00::/8', size: 24 }, 'PIER_NETWORK_POOL'],
    [{ cidr: '8.8.0.0/16', size: 24 }, 'not inside a private range'],
    [{ cidr: '172.15.0.0/16', size: 24 }, 'not inside a private range'],
    [{ cidr: '10.0.0.0/7', size: 24 }, 'not inside a private range'],
    [{ cidr: '10.0.0.0/8', size: 24 }, undefined],
    [{ cidr: '10.0.0.0/8', size: 28 }, 'at most 65536'],
    [{ cidr: '10.213.0.0/16', size: 15 }, 'PIER_NETWORK_SUBNET_SIZE'],
    [{ cidr: '10.213.0.0/16', size: 29 }, 'PIER_NETWORK_SUBNET_SIZE'],
  ])('%j', (pool, problem) => {
    const found = networkPoolProblem(pool);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('every network gets every subnet of the pool once, from a start its name picks', () => {
    const pool = { cidr: '10.213.0.0/22', size: 24 };
    const a = subnetCandidates(pool, 'pier-shop-staging');
    expect([...a].sort()).toEqual(['10.213.0.0/24', '10.213.1.0/24', '10.213.2.0/24', '10.213.3.0/24']);
    expect(subnetCandidates(pool, 'pier-shop-staging')).toEqual(a);
    const starts = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => subnetCandidates(pool, `pier-${n}`)[0]));
    expect(starts.size).toBeGreaterThan(1);
    // Each subnet lies inside the pool and apart from the others.
    for (const [i, subnet] of a.entries()) {
      expect(cidrsOverlap(subnet, pool.cidr)).toBe(true);
      for (const other of a.slice(i + 1)) expect(cidrsOverlap(subnet, other)).toBe(false);
    }
  });

  it('overlap', () => {
    expect(cidrsOverlap('172.17.0.0/16', '172.17.5.0/24')).toBe(true);
    expect(cidrsOverlap('10.213.1.0/24', '10.213.2.0/24')).toBe(false);
    expect(cidrsOverlap('10.213.1.0/24', 'fd00::/64')).toBe(false);
    expect(parseCidr('255.255.255.0/24')).toEqual({ first: 4294967040, length: 256 });
    expect(networkOfAddress('10.0.3.7/16')).toBe('10.0.0.0/16');
    expect(networkOfAddress('192.168.1.77/26')).toBe('192.168.1.64/26');
    expect(networkOfAddress('fe80::1/64')).toBeUndefined();
  });
});
