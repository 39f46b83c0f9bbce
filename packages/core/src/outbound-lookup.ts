import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { addressReach } from './outbound-address.ts';

export interface OutboundLookupOptions {
  /** Loopback and private-network addresses are allowed (the URL's check said so: an admin's target). */
  allowLoopback: boolean;
  /** The port that will be connected to, and Pier's own services' ports: never on loopback. */
  port: number;
  reservedPorts: readonly number[];
  /** Resolves names; `dns.lookup` unless a test gives another. */
  resolve?: (
    hostname: string,
    options: LookupAllOptions,
    callback: (err: Error | null, addresses: LookupAddress[]) => void,
  ) => void;
}

/** The error a refused resolution fails the connection with. */
export class OutboundAddressRefused extends Error {
  readonly code = 'EPIER_OUTBOUND_REFUSED';
}

/**
 * A `lookup` for `net.connect`, `tls.connect` and `https.request`: the
 * connect-time half of `checkOutboundUrl`. It resolves the name as
 * `dns.lookup` does, and fails the connection (OutboundAddressRefused, before
 * any byte is sent) when ANY address the name resolves to is refused
 * (link-local, metadata, unspecified, IPv4 inside IPv6), is loopback or
 * private without `allowLoopback`, or is loopback on a reserved port. So a
 * name that resolves to 169.254.169.254, or that is re-pointed there after
 * the URL was checked, is caught when Pier connects. It answers in both of
 * the forms Node asks for (`all: true` with a list, else one address).
 */
export function outboundLookup(options: OutboundLookupOptions): LookupFunction {
  const resolve = options.resolve ?? dnsLookup;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return callback(err as NodeJS.ErrnoException, '', 0);
      const refusal = addresses.length === 0 ? `${hostname} resolves to no address` : refusalOf(hostname, addresses, options);
      if (refusal) return callback(new OutboundAddressRefused(refusal), '', 0);
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

function refusalOf(hostname: string, addresses: readonly LookupAddress[], options: OutboundLookupOptions): string | null {
  for (const { address } of addresses) {
    const reach = addressReach(address);
    if (reach.kind === 'refused') return `${hostname} resolves to ${address}, ${reach.reason}`;
    const internal = reach.kind === 'loopback' || reach.kind === 'private';
    if (internal && !options.allowLoopback) return `${hostname} resolves to ${address}, which only an admin's target may reach`;
    if (reach.kind === 'loopback' && options.reservedPorts.includes(options.port)) {
      return `${hostname} resolves to ${address}, and port ${options.port} there is one of Pier's own services`;
    }
  }
  return null;
}
