import { isIP } from 'node:net';
import { ipv4Value } from './registry-reach.ts';

/**
 * What an address Pier would send data to (a log drain, a notification
 * channel) reaches, as far as the address itself says:
 * - `refused`: never a destination: the link-local range where cloud metadata
 *   services answer (169.254.0.0/16, fe80::/10, fd00:ec2::254), the
 *   unspecified and multicast ranges, IPv4 written inside IPv6 (mapped,
 *   compatible, NAT64: write the IPv4 address itself);
 * - `loopback`: this machine (127.0.0.0/8, ::1, `localhost`);
 * - `private`: a private network behind the host's firewall (10/8,
 *   172.16/12, 192.168/16, 100.64/10, fc00::/7);
 * - `public`: anything else.
 */
export type AddressReach = { kind: 'public' | 'loopback' | 'private' } | { kind: 'refused'; reason: string };

/** Host names that cloud metadata services answer on, refused whatever they resolve to. */
export const METADATA_HOSTNAMES: readonly string[] = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
];

/** Names that mean this machine without asking DNS (RFC 6761, Debian's /etc/hosts). */
const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost', 'ip6-loopback']);

const linkLocal = (range: string) => `a link-local address (${range}, where cloud metadata services answer)`;

/** IPv4 ranges: first address, prefix length, what they reach. */
const IPV4_RANGES: readonly (readonly [string, number, AddressReach])[] = [
  ['0.0.0.0', 8, { kind: 'refused', reason: 'the unspecified address range (0.0.0.0/8)' }],
  ['169.254.0.0', 16, { kind: 'refused', reason: linkLocal('169.254.0.0/16') }],
  ['224.0.0.0', 3, { kind: 'refused', reason: 'a multicast or reserved address (224.0.0.0/3)' }],
  ['127.0.0.0', 8, { kind: 'loopback' }],
  ['10.0.0.0', 8, { kind: 'private' }],
  ['100.64.0.0', 10, { kind: 'private' }],
  ['172.16.0.0', 12, { kind: 'private' }],
  ['192.168.0.0', 16, { kind: 'private' }],
];

/**
 * What the host part of a URL (lower-case, IPv6 in brackets or not, a
 * trailing dot allowed) reaches when it is a literal or a known name; null
 * for a DNS name, which only its resolution tells (see `outboundLookup`).
 * An IPv4 literal in any form a resolver accepts (`127.1`, `0x7f.0.0.1`,
 * `2130706433`) counts as the address it stands for.
 */
export function hostReach(host: string): AddressReach | null {
  const name = host.replace(/\.$/, '');
  if (METADATA_HOSTNAMES.includes(name)) return { kind: 'refused', reason: 'a cloud metadata service' };
  if (LOOPBACK_NAMES.has(name) || name.endsWith('.localhost')) return { kind: 'loopback' };
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(bare) === 6) return ipv6Reach(bare);
  const v4 = ipv4Value(name);
  return v4 === null ? null : ipv4Reach(v4);
}

/** What a resolved address (as `dns.lookup` gives it) reaches. */
export function addressReach(address: string): AddressReach {
  return hostReach(address) ?? { kind: 'refused', reason: `not an IP address (${address})` };
}

function ipv4Reach(value: number): AddressReach {
  for (const [first, prefix, reach] of IPV4_RANGES) {
    const mask = (0xffffffff << (32 - prefix)) >>> 0;
    if ((value & mask) >>> 0 === ipv4Value(first)) return reach;
  }
  return { kind: 'public' };
}

function ipv6Reach(address: string): AddressReach {
  const groups = ipv6Groups(address);
  if (groups === null) return { kind: 'refused', reason: 'an IPv6 address Pier cannot read' };
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zeroTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (zeroTo(7) && g7 === 1) return { kind: 'loopback' };
  if (zeroTo(8)) return { kind: 'refused', reason: 'the unspecified address (::)' };
  if (zeroTo(5) && g5 === 0xffff) return { kind: 'refused', reason: 'an IPv4-mapped IPv6 address (write the IPv4 address)' };
  if (zeroTo(6) || (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0)) {
    return { kind: 'refused', reason: 'an IPv6 address with an IPv4 address inside (write the IPv4 address)' };
  }
  if ((g0 & 0xffc0) === 0xfe80) return { kind: 'refused', reason: linkLocal('fe80::/10') };
  if (g0 === 0xfd00 && g1 === 0x0ec2 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0 && g6 === 0 && g7 === 0x254) {
    return { kind: 'refused', reason: 'a cloud metadata service (fd00:ec2::254)' };
  }
  if ((g0 & 0xff00) === 0xff00) return { kind: 'refused', reason: 'a multicast address (ff00::/8)' };
  if ((g0 & 0xfe00) === 0xfc00) return { kind: 'private' };
  return { kind: 'public' };
}

/** The eight 16-bit groups of an IPv6 address `isIP` accepted (a zone index dropped); null when unreadable. */
function ipv6Groups(address: string): number[] | null {
  let text = address.replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = ipv4Value(tail[1] as string) as number;
    text = `${text.slice(0, tail.index)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(Math.max(fill, 0)).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}
