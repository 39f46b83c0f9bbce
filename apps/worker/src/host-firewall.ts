import { hostFirewallPlan, IptablesFirewall } from '@pier/docker';

/**
 * Installs the host firewall for the containers of `networkPool` (see
 * `hostFirewallPlan`) and checks that every rule is in place; throws a message
 * that says what to do when it cannot, so the worker never runs untrusted
 * builds on an open host.
 */
export async function enforceHostFirewall(networkPool: string, firewall = new IptablesFirewall()): Promise<void> {
  const plan = hostFirewallPlan({ sources: [networkPool] });
  try {
    await firewall.install(plan);
  } catch (err) {
    throw new Error(
      `cannot install the host firewall: ${(err as Error).message}. Run the worker as root on the Docker host with ` +
        "iptables installed, or set PIER_HOST_FIREWALL=false if this host's own firewall keeps containers away from it " +
        'and from 169.254.0.0/16',
      { cause: err },
    );
  }
  const missing = await firewall.missing(plan);
  if (missing.length > 0) {
    const rules = missing.map((rule) => `${rule.chain}: ${[...rule.match, '-j', rule.target].join(' ')}`).join('; ');
    throw new Error(`the host firewall is incomplete after installing it (missing: ${rules})`);
  }
}
