import { isIPv6 } from 'node:net';

/** What the API's DNS check (`GET …/domains?dns=1`) says about a custom domain. */
export interface DnsStatus {
  addresses: string[];
  /** True when one address is the server's; null when nothing resolved. */
  pointsHere: boolean | null;
  /** The resolver's error code (ENOTFOUND…), when nothing resolved. */
  error?: string;
}

export interface DnsRecord {
  type: 'CNAME' | 'A' | 'AAAA';
  name: string;
  value: string;
}

/**
 * The records that point `hostname` at the environment: a CNAME to its
 * generated hostname (which already points at the server), or, at a zone's
 * apex where a CNAME is not allowed, A/AAAA records to the server's
 * addresses when they are known.
 */
export function dnsRecords(hostname: string, generatedHostname: string, serverAddresses: string[]): DnsRecord[] {
  return [
    { type: 'CNAME', name: hostname, value: generatedHostname },
    ...serverAddresses.map((address) => ({
      type: isIPv6(address) ? ('AAAA' as const) : ('A' as const),
      name: hostname,
      value: address,
    })),
  ];
}

/** The check's result in words, and whether the domain already points here. */
export function dnsCheckText(hostname: string, status: DnsStatus | undefined): { pointsHere: boolean; text: string } {
  if (!status) return { pointsHere: false, text: `${hostname} was not checked` };
  if (status.pointsHere) return { pointsHere: true, text: `${hostname} points here (${status.addresses.join(', ')})` };
  if (status.addresses.length === 0) {
    const why = status.error ? ` (${status.error})` : '';
    return { pointsHere: false, text: `${hostname} does not resolve yet${why}: create the record above` };
  }
  return {
    pointsHere: false,
    text: `${hostname} does not point here yet: it resolves to ${status.addresses.join(', ')}`,
  };
}
