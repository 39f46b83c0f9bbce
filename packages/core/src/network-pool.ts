/**
 * The private IPv4 range Pier carves its Docker networks from: one subnet of
 * `size` bits per environment or managed service. Docker's default pools hold
 * about 30 bridge networks, which a few apps with previews and databases use
 * up; a /16 of /24s holds 256.
 */
export interface NetworkPool {
  /** The range, e.g. `10.213.0.0/16`. */
  cidr: string;
  /** Prefix length of each network's subnet, e.g. 24. */
  size: number;
}

export const DEFAULT_NETWORK_POOL: NetworkPool = { cidr: '10.213.0.0/16', size: 24 };

/** Fewer than 16 addresses leave no room for replicas during a rolling deploy. */
const SMALLEST_SUBNET = 28;

interface Range {
  first: number;
  /** Number of addresses. */
  length: number;
}

function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** A CIDR as a range; undefined when it is not IPv4 `a.b.c.d/n` with the host bits zero. */
export function parseCidr(cidr: string): Range | undefined {
  const [address, bits, extra] = cidr.split('/');
  if (extra !== undefined || address === undefined || bits === undefined || !/^\d{1,2}$/.test(bits)) return undefined;
  const first = parseIPv4(address);
  const prefix = Number(bits);
  if (first === undefined || prefix > 32) return undefined;
  const length = 2 ** (32 - prefix);
  if (first % length !== 0) return undefined;
  return { first, length };
}

/** The private ranges of RFC 1918: a bridge on a public range would hide those addresses from the host. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

/** At most this many subnets: the candidates are listed for every new network. */
const MAX_SUBNETS = 65_536;

/** Why `cidr` cannot be the pool, whatever the subnet size; undefined when it can. */
export function networkPoolRangeProblem(cidr: string): string | undefined {
  const range = parseCidr(cidr);
  if (!range) return `${JSON.stringify(cidr)} is not an IPv4 range such as 10.213.0.0/16 (host bits zero)`;
  const inside = PRIVATE_RANGES.some((p) => {
    const r = parseCidr(p) as Range;
    return range.first >= r.first && range.first + range.length <= r.first + r.length;
  });
  if (!inside) return `${cidr} is not inside a private range (${PRIVATE_RANGES.join(', ')})`;
  return undefined;
}

/** Why `pool` cannot be used, naming the setting; undefined when it can. */
export function networkPoolProblem(pool: NetworkPool): string | undefined {
  const rangeProblem = networkPoolRangeProblem(pool.cidr);
  if (rangeProblem) return `PIER_NETWORK_POOL: ${rangeProblem}`;
  const prefix = 32 - Math.log2((parseCidr(pool.cidr) as Range).length);
  if (!Number.isInteger(pool.size) || pool.size < prefix || pool.size > SMALLEST_SUBNET) {
    return `PIER_NETWORK_SUBNET_SIZE: must be a prefix length from ${prefix} (the whole pool) to ${SMALLEST_SUBNET}`;
  }
  const subnets = 2 ** (pool.size - prefix);
  if (subnets > MAX_SUBNETS) {
    return `PIER_NETWORK_SUBNET_SIZE: /${pool.size} cuts ${pool.cidr} into ${subnets} subnets; at most ${MAX_SUBNETS}`;
  }
  return undefined;
}

/** How many networks the pool holds. */
export function networkPoolCapacity(pool: NetworkPool): number {
  const range = parseCidr(pool.cidr);
  return range ? range.length / 2 ** (32 - pool.size) : 0;
}

/**
 * The pool's subnets in the order a network named `name` tries them: from a
 * slot its name picks (so concurrent creations of different networks rarely
 * race for one subnet), then onwards, wrapping around.
 */
export function subnetCandidates(pool: NetworkPool, name: string): string[] {
  const range = parseCidr(pool.cidr);
  if (!range) return [];
  const step = 2 ** (32 - pool.size);
  const count = range.length / step;
  let hash = 2166136261; // FNV-1a
  for (const char of name) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619) >>> 0;
  const start = hash % count;
  return Array.from({ length: count }, (_, i) => `${formatIPv4(range.first + ((start + i) % count) * step)}/${pool.size}`);
}

/** The network of an interface address: `10.0.3.7/16` → `10.0.0.0/16`; undefined when it is not IPv4. */
export function networkOfAddress(cidr: string): string | undefined {
  const [address = '', bits = ''] = cidr.split('/');
  const n = parseIPv4(address);
  if (n === undefined || !/^\d{1,2}$/.test(bits) || Number(bits) > 32) return undefined;
  const length = 2 ** (32 - Number(bits));
  return `${formatIPv4(n - (n % length))}/${bits}`;
}

/** Whether two CIDRs share an address; false when either is not IPv4. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  return x.first < y.first + y.length && y.first < x.first + x.length;
}
