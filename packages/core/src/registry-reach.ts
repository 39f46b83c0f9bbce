import { ForbiddenError } from './errors.ts';
import type { ImageReference } from './image-reference.ts';
import type { Principal } from './principal.ts';

/**
 * Which registries an app token may have the Docker Engine pull from. The
 * Engine connects wherever a reference's registry says, from the host, so an
 * image named `127.0.0.1:4000/x`, `169.254.169.254/x` or `10.0.0.5:5000/x`
 * would make it talk to the host's own services, the cloud's metadata service
 * or the private network on the app's behalf. An admin may (an operator's
 * local registry is on loopback); an app token may not name `localhost` or an
 * address in the ranges below.
 *
 * The check is on what the reference says: a host name that resolves to such
 * an address is resolved by the Engine itself, later, and is not caught here.
 */

/** IPv4 ranges, as first address and prefix length, with what each is. */
const INTERNAL_RANGES: readonly (readonly [string, number, string])[] = [
  ['0.0.0.0', 8, 'the unspecified address range (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'a private address (10.0.0.0/8)'],
  ['100.64.0.0', 10, 'a shared private address (100.64.0.0/10)'],
  ['127.0.0.0', 8, 'a loopback address (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'a link-local address (169.254.0.0/16, where cloud metadata services answer)'],
  ['172.16.0.0', 12, 'a private address (172.16.0.0/12)'],
  ['192.168.0.0', 16, 'a private address (192.168.0.0/16)'],
];

/**
 * What the registry `host[:port]` reaches that an app token may not, or null
 * when it names none of it. An IPv4 address in any form a resolver accepts
 * (`127.1`, `0x7f.0.0.1`, `2130706433`) counts as the address it stands for.
 */
export function internalRegistryReason(registry: string): string | null {
  const host = registry.toLowerCase().replace(/:[0-9]*$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'this machine (localhost)';
  const address = ipv4Value(host);
  if (address === null) return null;
  for (const [first, prefix, what] of INTERNAL_RANGES) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((address & mask) >>> 0 === ipv4Value(first)) return what;
  }
  return null;
}

/** Throws ForbiddenError on field `image` when an app token names a registry it may not reach. */
export function assertMayPullFrom(principal: Principal, reference: ImageReference): void {
  if (principal.role === 'admin') return;
  const reason = internalRegistryReason(reference.registry);
  if (reason) {
    throw new ForbiddenError(
      `image: the registry ${reference.registry} is ${reason}; only an admin token may deploy images from such a registry`,
    );
  }
}

/**
 * The address an IPv4 literal stands for, read as inet_aton reads it (one to
 * four parts, each decimal, octal with a leading 0 or hex with 0x, the last
 * filling the remaining bytes); null when `host` is no such literal.
 */
export function ipv4Value(host: string): number | null {
  const parts = host.split('.');
  if (parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    if (!/^(?:0x[0-9a-f]*|[0-9]+)$/.test(part)) return null;
    const value = part.startsWith('0x')
      ? Number.parseInt(part.slice(2) || '0', 16)
      : /^0[0-7]*$/.test(part)
        ? Number.parseInt(part, 8)
        : /^[1-9][0-9]*$/.test(part)
          ? Number.parseInt(part, 10)
          : Number.NaN;
    if (!Number.isFinite(value)) return null;
    values.push(value);
  }
  const last = values.pop() as number;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return null;
  return values.reduce((sum, v, i) => sum + v * 2 ** (8 * (3 - i)), 0) + last;
}
