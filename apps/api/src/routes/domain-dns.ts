import { Resolver } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

/** What DNS says about a custom domain, checked on request only (it costs a lookup). */
export interface DnsStatus {
  /** A and AAAA records. */
  addresses: string[];
  /** True when one of them is an address of this machine; null when nothing resolved. */
  pointsHere: boolean | null;
  /** The resolver's error code (ENOTFOUND, ETIMEOUT…), when the lookup failed. */
  error?: string;
}

/** Compares resolved addresses with this machine's (behind NAT, its public addresses come from PIER_PUBLIC_IPS). */
export function pointsHere(addresses: readonly string[], local: ReadonlySet<string>): boolean | null {
  if (addresses.length === 0) return null;
  return addresses.some((address) => local.has(canonicalAddress(address)));
}

/** One spelling per address: `2001:DB8:0:0::7` → `2001:db8::7` (the URL parser's), IPv4 as it is. */
export function canonicalAddress(address: string): string {
  if (!isIPv6(address)) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase(); // with a zone (fe80::1%eth0), which URLs do not take
  }
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) out.add(canonicalAddress(entry.address));
  return out;
}

/** This machine's addresses: its interfaces' and the public ones it is reached at. */
export function thisMachine(publicAddresses: readonly string[]): Set<string> {
  return new Set([...localAddresses(), ...publicAddresses.map(canonicalAddress)]);
}

/** Resolves A and AAAA with one try of two seconds each; never throws. `publicAddresses` count as this machine's. */
export async function checkDns(hostname: string, publicAddresses: readonly string[] = []): Promise<DnsStatus> {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  const failed = v4.status === 'rejected' ? (v4.reason as { code?: string }) : undefined;
  return {
    addresses,
    pointsHere: pointsHere(addresses, thisMachine(publicAddresses)),
    ...(addresses.length === 0 && failed?.code ? { error: failed.code } : {}),
  };
}
