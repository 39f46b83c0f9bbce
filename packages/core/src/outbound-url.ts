import { ValidationError } from './errors.ts';
import { hostReach } from './outbound-address.ts';

/**
 * The check of a URL that Pier will send data to: a log drain's endpoint or a
 * notification channel's webhook. The api runs it before anything is stored
 * (a refusal is a ValidationError naming `field`, nothing written); the
 * sender connects through `outboundLookup` (outbound-lookup.ts) so that a
 * DNS name is held to the same rules by what it resolves to.
 *
 * Contract:
 * - schemes per use: a drain takes `https:`, `syslog+tls:` (RFC 5425), and
 *   plain `syslog:` (TCP) and `http:` to loopback only; a channel takes
 *   `https:`, and plain `http:` to loopback only;
 * - a host is required; a syslog URL needs a port (there is no default) and
 *   carries no credentials, path, query or fragment;
 * - refused whoever asks: link-local and metadata targets (169.254.0.0/16,
 *   fe80::/10, `metadata.google.internal`…), the unspecified and multicast
 *   ranges, IPv4 written inside IPv6. An IPv4 literal in any form a resolver
 *   accepts (`0xa9fea9fe`, `169.254.43518`) counts as the address it is;
 * - loopback (127.0.0.0/8, ::1, `localhost`) and private-network targets
 *   (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) only when
 *   `allowLoopback` is set (the api sets it for admin tokens only, so an app
 *   token can never point Pier at the host or its network), and a loopback
 *   target never on one of `reservedPorts` (Pier's own services: the api,
 *   the proxy's admin port, Postgres, Redis);
 * - a DNS name is taken as it is here (its address is checked when the
 *   sender connects).
 */
export type OutboundUse = 'drain' | 'channel';

export type OutboundScheme = 'https' | 'http' | 'syslog' | 'syslog+tls';

export interface OutboundUrlOptions {
  /** The request field the URL came from, named in every refusal (`url`). */
  field: string;
  use: OutboundUse;
  /** Loopback and private-network targets are allowed (admin tokens only). */
  allowLoopback: boolean;
  /** Ports of Pier's own services on loopback, never a target. */
  reservedPorts: readonly number[];
}

export interface OutboundUrl {
  scheme: OutboundScheme;
  /** The host to connect to: lower-case, IPv6 without brackets. */
  host: string;
  port: number;
  /** The host is loopback or on a private network (what `allowLoopback` admits). */
  internal: boolean;
  /** `scheme://host:port`, without credentials, path or query: what may be shown. */
  target: string;
  /** The URL as parsed (for https: with its path, query and any credentials). */
  url: URL;
}

const SCHEMES: Record<OutboundUse, readonly OutboundScheme[]> = {
  drain: ['https', 'syslog+tls', 'syslog', 'http'],
  channel: ['https', 'http'],
};

/** Schemes that send in clear text: loopback only. */
const PLAIN: readonly OutboundScheme[] = ['syslog', 'http'];

const DEFAULT_PORTS: Partial<Record<OutboundScheme, number>> = { https: 443, http: 80 };

/** A plain DNS name or an IPv4/IPv6 literal (the URL parser keeps a non-http scheme's host as written). */
const HOST_CHARACTERS = /^(?:[a-z0-9._-]+|\[[0-9a-f:.]+\])$/;

/** Parses and checks `raw` for `options.use`; throws ValidationError on `options.field`. */
export function checkOutboundUrl(raw: string, options: OutboundUrlOptions): OutboundUrl {
  const fail = (why: string): never => {
    throw new ValidationError(`${options.field}: ${why}`, options.field);
  };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return fail('must be an absolute URL such as https://logs.example.com/ingest');
  }
  const scheme = url.protocol.slice(0, -1) as OutboundScheme;
  const allowed = SCHEMES[options.use];
  if (!allowed.includes(scheme)) {
    return fail(`scheme ${url.protocol} is not allowed; use ${allowed.map((s) => `${s}:`).join(', ')}`);
  }
  const host = url.hostname.toLowerCase();
  if (host === '') fail('must name a host');
  if (!HOST_CHARACTERS.test(host)) fail(`host ${host} is not a DNS name or an IP address`);
  const syslog = scheme === 'syslog' || scheme === 'syslog+tls';
  if (syslog) checkSyslogParts(url, fail);
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  if (port === undefined) return fail(`must name a port (${scheme}://host:port)`);
  const reach = hostReach(host);
  if (reach?.kind === 'refused') fail(`host ${host} is ${reach.reason}; Pier does not send data there`);
  const loopback = reach?.kind === 'loopback';
  const internal = loopback || reach?.kind === 'private';
  if (PLAIN.includes(scheme) && !loopback) {
    fail(`${scheme}: sends in clear text and is allowed only to loopback; use ${scheme === 'http' ? 'https' : 'syslog+tls'}:`);
  }
  if (internal && !options.allowLoopback) {
    fail(`host ${host} is ${loopback ? 'this machine' : 'a private network address'}; only an admin token may send there`);
  }
  if (loopback && options.reservedPorts.includes(port)) {
    fail(`port ${port} on loopback is one of Pier's own services`);
  }
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return { scheme, host: bare, port, internal, target: `${scheme}://${host}:${port}`, url };
}

function checkSyslogParts(url: URL, fail: (why: string) => never): void {
  if (url.username !== '' || url.password !== '') fail('a syslog URL carries no credentials');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    fail('a syslog URL is only scheme://host:port (no path, query or fragment)');
  }
}

/** The default ports of Pier's own services: the api, the proxy's admin port, Postgres, Redis. */
export const DEFAULT_PIER_SERVICE_PORTS: readonly number[] = [4000, 9090, 5432, 6379];

/**
 * The `reservedPorts` of a process: the defaults, and the ports it knows its
 * services really use (the api's own, those of its database and Redis URLs).
 */
export function pierServicePorts(known: { ports?: readonly number[]; urls?: readonly string[] }): number[] {
  const ports = new Set<number>([...DEFAULT_PIER_SERVICE_PORTS, ...(known.ports ?? [])]);
  for (const raw of known.urls ?? []) {
    try {
      const port = Number(new URL(raw).port);
      if (port > 0) ports.add(port);
    } catch {
      // Not a URL: nothing to add.
    }
  }
  return [...ports].sort((a, b) => a - b);
}
