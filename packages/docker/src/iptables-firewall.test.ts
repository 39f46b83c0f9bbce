import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostFirewallPlan } from './host-firewall.ts';
import { HostFirewallError, IptablesFirewall } from './iptables-firewall.ts';

// The real iptables of this host. Each run uses a range no network has (a /24 of 10.218.0.0/16, outside every
// pool the tests use), so its DROP rules match no traffic; it removes only that range's rules. The shared rules
// (the jumps, the ESTABLISHED rule) are what any worker on this host installs anyway.
const source = `10.218.${randomInt(0, 256)}.0/24`;
const plan = hostFirewallPlan({ sources: [source] });
const firewall = new IptablesFirewall();

afterAll(async () => {
  await firewall.removeSources(plan);
});

function listing(chain: string): string {
  return execFileSync('iptables', ['-w', '10', '-S', chain], { encoding: 'utf8' });
}

// Docker takes the xtables lock for every network it creates or removes: under the full suite a command may wait
// seconds for it (`-w`), and three installs in turn run a few dozen of them.
describe('IptablesFirewall', { timeout: 120_000 }, () => {
  it('installs the plan, several times at once, and then nothing is missing', async () => {
    await Promise.all([firewall.install(plan), firewall.install(plan), firewall.install(plan)]);
    expect(await firewall.missing(plan)).toEqual([]);
    expect(listing('PIER-INPUT')).toContain(`-A PIER-INPUT -s ${source} -m comment --comment`);
    expect(listing('PIER-FORWARD')).toContain(`-A PIER-FORWARD -s ${source} -d 169.254.0.0/16 -m comment`);
    // The jumps come first in their chains, ahead of the host's own rules and of Docker's RETURN.
    expect(listing('INPUT').split('\n')[1]).toMatch(/^-A INPUT .*-j PIER-INPUT$/);
    expect(listing('DOCKER-USER').split('\n')[1]).toMatch(/^-A DOCKER-USER .*-j PIER-FORWARD$/);
    // Installing again adds nothing, and says so.
    const before = listing('PIER-INPUT');
    expect(await firewall.install(plan)).toEqual([]);
    expect(listing('PIER-INPUT')).toBe(before);
  });

  it('says which rules it added', async () => {
    await firewall.removeSources(plan);
    const added = await firewall.install(plan);
    expect(added.map((rule) => [rule.chain, ...rule.match])).toEqual([
      ['PIER-INPUT', '-s', source],
      ['PIER-FORWARD', '-s', source, '-d', '169.254.0.0/16'],
    ]);
  });

  it('checks as a user with CAP_NET_ADMIN alone (the worker under its unit); without it, cannot tell rather than "missing"', async () => {
    await firewall.install(plan);
    const directory = mkdtempSync(join(tmpdir(), 'pier-iptables-'));
    try {
      const wrapper = (caps: string[]): string => {
        const path = join(directory, `iptables-${caps.length}`);
        const setpriv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...caps, '--no-new-privs'];
        writeFileSync(path, `#!/bin/sh\nexec ${setpriv.join(' ')} -- iptables "$@"\n`, { mode: 0o755 });
        return path;
      };
      const capable = new IptablesFirewall(wrapper(['--inh-caps=+net_admin', '--ambient-caps=+net_admin']));
      expect(await capable.missing(plan)).toEqual([]);
      const other = hostFirewallPlan({ sources: [`10.218.${(Number(source.split('.')[2]) + 1) % 256}.0/24`] });
      expect((await capable.missing(other)).map((rule) => rule.chain)).toEqual(['PIER-INPUT', 'PIER-FORWARD']);
      const incapable = new IptablesFirewall(wrapper([]));
      await expect(incapable.missing(plan)).rejects.toThrow(/Permission denied/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('reports a removed rule as missing, and removing its sources leaves the shared rules', async () => {
    await firewall.install(plan);
    execFileSync('iptables', [
      '-w',
      '10',
      '-D',
      'PIER-INPUT',
      '-s',
      source,
      '-m',
      'comment',
      '--comment',
      plan.rules[1]?.comment ?? '',
      '-j',
      'DROP',
    ]);
    expect((await firewall.missing(plan)).map((rule) => [rule.chain, ...rule.match])).toEqual([['PIER-INPUT', '-s', source]]);
    await firewall.install(plan);
    await firewall.removeSources(plan);
    expect((await firewall.missing(plan)).every((rule) => !rule.shared)).toBe(true);
    expect(listing('PIER-INPUT')).not.toContain(source);
    expect(listing('PIER-FORWARD')).not.toContain(source);
  });

  it('says clearly when iptables is not there', async () => {
    const absent = new IptablesFirewall('/nonexistent/iptables');
    await expect(absent.install(plan)).rejects.toThrow(HostFirewallError);
    await expect(absent.install(plan)).rejects.toThrow(/\/nonexistent\/iptables is not installed/);
  });
});
