import { type FirewallRule, type HostFirewallPlan, hostFirewallPlan, IptablesFirewall } from '@pier/docker';

/** The command that installs the firewall as root before an unprivileged worker starts (the systemd unit's ExecStartPre). */
export const PREPARE_HOST = 'node apps/worker/dist/main.mjs prepare-host';

const FIREWALL_OFF =
  "or set PIER_HOST_FIREWALL=false if this host's own firewall keeps containers away from it and from 169.254.0.0/16";

/**
 * `install`: what a root worker and `prepare-host` do. `check`: what a worker
 * that is not root does (under the systemd unit): it reads the rules, which
 * needs CAP_NET_ADMIN only, and changes nothing.
 */
export type HostFirewallMode = 'install' | 'check';

/**
 * Makes sure the host firewall for the containers of `networkPool` (see
 * `hostFirewallPlan`) is in place: installs it first in `install` mode, then
 * checks every rule; returns the rules it added. Throws a message that says
 * what to do when a rule is missing or iptables cannot tell, so the worker
 * never runs untrusted builds on an open host.
 */
export async function enforceHostFirewall(
  networkPool: string,
  mode: HostFirewallMode,
  firewall = new IptablesFirewall(),
): Promise<FirewallRule[]> {
  const plan = hostFirewallPlan({ sources: [networkPool] });
  const added = mode === 'install' ? await install(firewall, plan) : [];
  const missing = await firewall.missing(plan).catch((err: unknown) => {
    throw new Error(
      `cannot check the host firewall: ${(err as Error).message}. A worker that is not root only checks the rules: ` +
        'it needs CAP_NET_ADMIN (the systemd unit grants it) and iptables-nft (iptables-legacy opens /run/xtables.lock, ' +
        `which is root's); ${FIREWALL_OFF}`,
      { cause: err },
    );
  });
  if (missing.length === 0) return added;
  const rules = missing.map((rule) => `${rule.chain}: ${[...rule.match, '-j', rule.target].join(' ')}`).join('; ');
  if (mode === 'install') throw new Error(`the host firewall is incomplete after installing it (missing: ${rules})`);
  throw new Error(
    `the host firewall is not in place (missing: ${rules}): install it as root with \`${PREPARE_HOST}\` ` +
      `(the systemd unit runs it before the worker), ${FIREWALL_OFF}`,
  );
}

async function install(firewall: IptablesFirewall, plan: HostFirewallPlan): Promise<FirewallRule[]> {
  try {
    return await firewall.install(plan);
  } catch (err) {
    throw new Error(
      `cannot install the host firewall: ${(err as Error).message}. Run the worker, or \`${PREPARE_HOST}\` before it, ` +
        `as root on the Docker host with iptables installed, ${FIREWALL_OFF}`,
      { cause: err },
    );
  }
}
