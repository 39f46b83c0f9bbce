import { describe, expect, it } from 'vitest';
import { pointsHere, thisMachine } from './domain-dns.ts';

describe('the DNS check', () => {
  it('counts loopback and the configured public addresses as this machine', () => {
    const here = thisMachine(['203.0.113.7', '2001:DB8::7']);
    expect(here.has('127.0.0.1')).toBe(true);
    expect(pointsHere(['203.0.113.7'], here)).toBe(true);
    expect(pointsHere(['2001:db8::7'], here)).toBe(true);
    expect(pointsHere(['2001:db8:0:0:0:0:0:7'], thisMachine(['2001:DB8:0::7']))).toBe(true);
    expect(pointsHere(['198.51.100.1', '203.0.113.7'], here)).toBe(true);
    expect(pointsHere(['198.51.100.1'], here)).toBe(false);
    // Behind NAT without PIER_PUBLIC_IPS, the public address is not known here.
    expect(pointsHere(['203.0.113.7'], thisMachine([]))).toBe(false);
    expect(pointsHere([], here)).toBeNull();
  });
});
