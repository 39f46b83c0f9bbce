import { parseCidr, ValidationError } from '@pier/core';

/**
 * The iptables rules that keep untrusted code (builds, replicas, managed
 * services: every container on Pier's networks) away from this host and from
 * link-local addresses. Docker's bridges already keep its networks apart
 * (DOCKER-ISOLATION-STAGE-*) and same-bridge traffic (an environment and its
 * linked services) never reaches these chains' DROP rules; forwarded traffic
 * to the internet, and any other private network the host routes to, stays
 * allowed. IPv4 only: Pier's networks have no IPv6 (Docker turns IPv6 off
 * inside their containers).
 *
 * Two chains of Pier's own, so that installing, checking and removing touch
 * nothing else:
 * - `PIER-INPUT`, jumped to first from INPUT: traffic a container sends to any
 *   address of this host (a bridge gateway, the public address, a link-local
 *   one; or 127.0.0.1 in a crafted raw packet) is dropped, so the api, Postgres,
 *   Redis and the proxy's admin port are out of reach whatever they listen on.
 *   Replies to connections the host opened (the proxy and health checks
 *   reaching published ports) pass. Docker's embedded DNS answers inside each
 *   container's own namespace and needs nothing here.
 * - `PIER-FORWARD`, jumped to first from DOCKER-USER (which Docker evaluates
 *   before its own FORWARD rules and never flushes): 169.254.0.0/16, where
 *   clouds serve instance metadata and credentials, is dropped.
 */

export const INPUT_CHAIN = 'PIER-INPUT';
export const FORWARD_CHAIN = 'PIER-FORWARD';
/** Where clouds serve instance metadata and credentials (169.254.169.254), and every other link-local address. */
export const LINK_LOCAL = '169.254.0.0/16';

/** One rule: where it goes and its iptables match and target, as argument arrays (never a shell string). */
export interface FirewallRule {
  /** The chain the rule is in. */
  chain: string;
  /** Jumps into Pier's chains go first in the chain (before the host's own ACCEPT rules); Pier's own rules are appended in order. */
  position: 'first' | 'last';
  /** What the rule matches, e.g. `['-s', '10.213.0.0/16']`. */
  match: string[];
  /** `DROP`, `RETURN` or one of Pier's chains. */
  target: string;
  /** Why the rule exists: its iptables comment too, so `iptables -S` explains it. */
  comment: string;
  /** Shared by every installation on the host (kept when one installation's rules are removed). */
  shared: boolean;
}

export interface HostFirewallPlan {
  /** Pier's chains, created before any rule. */
  chains: string[];
  /** In installation order: each chain's rules before the jumps into it. */
  rules: FirewallRule[];
}

export interface HostFirewallInput {
  /** The IPv4 ranges of Pier's container networks: PIER_NETWORK_POOL (builds' networks come from it too). */
  sources: readonly string[];
}

/** The rules for `sources`; a source that is not an IPv4 range is a ValidationError naming it. */
export function hostFirewallPlan(input: HostFirewallInput): HostFirewallPlan {
  if (input.sources.length === 0) throw new ValidationError('the host firewall needs at least one source range', 'sources');
  for (const source of input.sources) {
    if (!parseCidr(source)) {
      throw new ValidationError(`source ${JSON.stringify(source)} is not an IPv4 range such as 10.213.0.0/16`, 'sources');
    }
  }
  const rules: FirewallRule[] = [
    {
      chain: INPUT_CHAIN,
      // Ahead of every DROP, also when it is the one rule re-added to a chain that has them.
      position: 'first',
      match: ['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED'],
      target: 'RETURN',
      comment: 'pier: replies to connections this host opened (published ports) pass',
      shared: true,
    },
    ...input.sources.map(
      (source): FirewallRule => ({
        chain: INPUT_CHAIN,
        position: 'last',
        match: ['-s', source],
        target: 'DROP',
        comment: 'pier: containers reach no service of this host, at any of its addresses',
        shared: false,
      }),
    ),
    ...input.sources.map(
      (source): FirewallRule => ({
        chain: FORWARD_CHAIN,
        position: 'last',
        match: ['-s', source, '-d', LINK_LOCAL],
        target: 'DROP',
        comment: 'pier: containers reach no link-local address (cloud metadata)',
        shared: false,
      }),
    ),
    {
      chain: 'INPUT',
      position: 'first',
      match: [],
      target: INPUT_CHAIN,
      comment: 'pier: keep containers away from this host',
      shared: true,
    },
    {
      chain: 'DOCKER-USER',
      position: 'first',
      match: [],
      target: FORWARD_CHAIN,
      comment: 'pier: keep containers away from link-local addresses',
      shared: true,
    },
  ];
  return { chains: [INPUT_CHAIN, FORWARD_CHAIN], rules };
}

/** The rule as iptables arguments after `-A/-I/-C/-D <chain>`: match, comment, target. */
export function ruleArguments(rule: FirewallRule): string[] {
  return [...rule.match, '-m', 'comment', '--comment', rule.comment, '-j', rule.target];
}
