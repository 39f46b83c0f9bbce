import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { withDirectoryLock } from './directory-lock.ts';
import { type FirewallRule, FORWARD_CHAIN, type HostFirewallPlan, INPUT_CHAIN, ruleArguments } from './host-firewall.ts';

const run = promisify(execFile);

/** Seconds an iptables command waits for the xtables lock another one holds (`-w`). */
const LOCK_WAIT_SECONDS = '10';
const COMMAND_TIMEOUT_MS = 20_000;
/** The copies of one rule a removal deletes at most (a rule added by hand twice). */
const MAX_DUPLICATES = 10;
/** Held while installing, so that workers starting together on one host add each rule once. */
const DEFAULT_LOCK = '/run/pier-host-firewall.lock';
const LOCK_OPTIONS = { waitMs: 60_000, staleMs: 60_000 };

/** iptables could not run, or refused a command: the message says which and why. */
export class HostFirewallError extends Error {}

/**
 * Applies and checks a `HostFirewallPlan` with the `iptables` command (filter
 * table), each call an argument array through execFile: no shell. Installing
 * only adds what is missing and never flushes, so installations with other
 * network pools on one host keep each other's rules; processes installing
 * at once take turns (a lock directory), and each command waits for the
 * xtables lock (`-w`). Installing needs root in the host's network namespace
 * (CAP_NET_ADMIN, and the lock under /run); checking (`missing`) needs only
 * CAP_NET_ADMIN with iptables-nft (iptables-legacy also opens root's
 * /run/xtables.lock).
 */
export class IptablesFirewall {
  constructor(
    private readonly binary = 'iptables',
    private readonly lockPath = DEFAULT_LOCK,
  ) {}

  /**
   * Creates Pier's chains, then adds each rule of `plan` not yet there; returns the rules it added (none when all
   * were in place). Throws HostFirewallError naming the command that failed.
   */
  install(plan: HostFirewallPlan): Promise<FirewallRule[]> {
    return withDirectoryLock(this.lockPath, LOCK_OPTIONS, () => this.installNow(plan));
  }

  private async installNow(plan: HostFirewallPlan): Promise<FirewallRule[]> {
    if (!(await this.chainExists('DOCKER-USER'))) {
      throw new HostFirewallError(
        'the DOCKER-USER chain does not exist: Docker has not started, or runs with its iptables rules off ("iptables": false)',
      );
    }
    for (const chain of plan.chains) await this.ensureChain(chain);
    const added: FirewallRule[] = [];
    for (const rule of plan.rules) {
      if (await this.has(rule)) continue;
      const place = rule.position === 'first' ? ['-I', rule.chain, '1'] : ['-A', rule.chain];
      await this.iptables([...place, ...ruleArguments(rule)]);
      added.push(rule);
    }
    return added;
  }

  /**
   * The rules of `plan` that are not in place: none when the firewall is as planned. Throws HostFirewallError when
   * iptables cannot tell (not installed, no CAP_NET_ADMIN): that is not a missing rule.
   */
  async missing(plan: HostFirewallPlan): Promise<FirewallRule[]> {
    const missing: FirewallRule[] = [];
    for (const rule of plan.rules) if (!(await this.has(rule))) missing.push(rule);
    return missing;
  }

  /** Removes the rules of `plan`'s own sources; the shared rules and other installations' sources stay. */
  async removeSources(plan: HostFirewallPlan): Promise<void> {
    for (const rule of plan.rules.filter((r) => !r.shared)) await this.deleteAll(rule.chain, ruleArguments(rule));
  }

  /** Removes every rule and chain of Pier's, from every installation on this host. */
  async removeAll(): Promise<void> {
    const jumps: [string, string][] = [
      ['INPUT', INPUT_CHAIN],
      ['DOCKER-USER', FORWARD_CHAIN],
    ];
    for (const [chain, target] of jumps) {
      for (const args of await this.jumps(chain, target)) await this.deleteAll(chain, args);
    }
    for (const chain of [INPUT_CHAIN, FORWARD_CHAIN]) {
      if (!(await this.chainExists(chain))) continue;
      await this.iptables(['-F', chain]);
      await this.iptables(['-X', chain]);
    }
  }

  private async has(rule: FirewallRule): Promise<boolean> {
    // `-C` exits 1 both for a missing rule and for a missing chain: either way the rule is not in place. Any other
    // status (4: permission denied, 2: a match the kernel lacks) means it could not check.
    try {
      await this.iptables(['-C', rule.chain, ...ruleArguments(rule)]);
      return true;
    } catch (error) {
      if ((error as { exitCode?: number }).exitCode === 1) return false;
      throw error;
    }
  }

  private async ensureChain(chain: string): Promise<void> {
    if (await this.chainExists(chain)) return;
    // Another process may create it between the check and `-N`: only a chain still missing is an error.
    if ((await this.attempt(['-N', chain])) !== 0 && !(await this.chainExists(chain))) {
      await this.iptables(['-N', chain]);
    }
  }

  private async chainExists(chain: string): Promise<boolean> {
    return (await this.attempt(['-S', chain])) === 0;
  }

  /** The rules of `chain` that jump to `target`, as the arguments that delete them (whatever their comment). */
  private async jumps(chain: string, target: string): Promise<string[][]> {
    if (!(await this.chainExists(chain))) return [];
    const listing = await this.iptables(['-S', chain]);
    return listing
      .split('\n')
      .map(splitListing)
      .filter((args) => args[0] === '-A' && args[1] === chain && args.at(-1) === target && args.at(-2) === '-j')
      .map((args) => args.slice(2));
  }

  /** Deletes the rule, and its duplicates should a race have added it twice. */
  private async deleteAll(chain: string, rule: string[]): Promise<void> {
    for (let i = 0; i < MAX_DUPLICATES && (await this.attempt(['-D', chain, ...rule])) === 0; i++);
  }

  /** Runs iptables; its exit code, 0 when it succeeded. Throws only when iptables cannot run at all. */
  private async attempt(args: string[]): Promise<number> {
    try {
      await this.iptables(args);
      return 0;
    } catch (error) {
      const code = (error as { exitCode?: number }).exitCode;
      if (typeof code === 'number') return code;
      throw error;
    }
  }

  /** Runs iptables and returns its stdout; a failure is a HostFirewallError with iptables' own words. */
  private async iptables(args: string[]): Promise<string> {
    const command = ['-w', LOCK_WAIT_SECONDS, '-t', 'filter', ...args];
    try {
      const { stdout } = await run(this.binary, command, { timeout: COMMAND_TIMEOUT_MS });
      return stdout;
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & { code?: string | number; stderr?: string };
      const shown = `${this.binary} ${command.join(' ')}`;
      if (failure.code === 'ENOENT') {
        throw new HostFirewallError(`${this.binary} is not installed (or not on PATH), so \`${shown}\` cannot run`);
      }
      if (typeof failure.code !== 'number') throw new HostFirewallError(`\`${shown}\` failed: ${failure.message}`);
      const reason = (failure.stderr ?? '').trim().split('\n')[0] || `exit code ${failure.code}`;
      throw Object.assign(new HostFirewallError(`\`${shown}\` failed: ${reason}`), { exitCode: failure.code });
    }
  }
}

/** Splits an `iptables -S` line into arguments; `-S` quotes only comments, with "…". */
function splitListing(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string),
  );
}
