import { describe, expect, it } from 'vitest';
import { hostFirewallPlan, ruleArguments } from './host-firewall.ts';

const COMMENT = ['-m', 'comment', '--comment'];

describe('hostFirewallPlan', () => {
  const plan = hostFirewallPlan({ sources: ['10.213.0.0/16'] });
  const lines = plan.rules.map((rule) => [rule.position === 'first' ? '-I' : '-A', rule.chain, ...ruleArguments(rule)]);

  it("creates Pier's two chains", () => {
    expect(plan.chains).toEqual(['PIER-INPUT', 'PIER-FORWARD']);
  });

  it.each([
    {
      name: 'replies to connections the host opened pass, before anything is dropped (inserted first, also when re-added)',
      line: ['-I', 'PIER-INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', ...COMMENT],
      target: 'RETURN',
      at: 0,
    },
    {
      name: 'containers reach no address of the host',
      line: ['-A', 'PIER-INPUT', '-s', '10.213.0.0/16', ...COMMENT],
      target: 'DROP',
      at: 1,
    },
    {
      name: 'containers reach no link-local address through the host',
      line: ['-A', 'PIER-FORWARD', '-s', '10.213.0.0/16', '-d', '169.254.0.0/16', ...COMMENT],
      target: 'DROP',
      at: 2,
    },
    { name: 'INPUT jumps to PIER-INPUT first', line: ['-I', 'INPUT', ...COMMENT], target: 'PIER-INPUT', at: 3 },
    { name: 'DOCKER-USER jumps to PIER-FORWARD first', line: ['-I', 'DOCKER-USER', ...COMMENT], target: 'PIER-FORWARD', at: 4 },
  ])('$name', ({ line, target, at }) => {
    const rule = lines[at] as string[];
    expect(rule.slice(0, line.length)).toEqual(line);
    expect(rule.slice(-2)).toEqual(['-j', target]);
    expect(rule[line.length]).toMatch(/^pier: /);
  });

  it('has exactly those rules: nothing accepts traffic, nothing touches forwarded traffic to the internet', () => {
    expect(lines).toHaveLength(5);
    for (const rule of plan.rules) expect(['DROP', 'RETURN', 'PIER-INPUT', 'PIER-FORWARD']).toContain(rule.target);
    expect(
      plan.rules.filter((rule) => rule.chain === 'PIER-FORWARD').every((rule) => rule.match.includes('169.254.0.0/16')),
    ).toBe(true);
  });

  it('jumps come after the rules of the chains they lead to', () => {
    const jumps = (rule: { target: string }) => rule.target === 'PIER-INPUT' || rule.target === 'PIER-FORWARD';
    const firstJump = plan.rules.findIndex(jumps);
    expect(plan.rules.slice(firstJump).every(jumps)).toBe(true);
    expect(plan.rules.slice(firstJump).every((rule) => rule.position === 'first')).toBe(true);
  });

  it('drops each source; only the per-source rules are its own', () => {
    const two = hostFirewallPlan({ sources: ['10.213.0.0/16', '172.30.0.0/24'] });
    expect(two.rules.filter((rule) => !rule.shared).map((rule) => [rule.chain, ...rule.match])).toEqual([
      ['PIER-INPUT', '-s', '10.213.0.0/16'],
      ['PIER-INPUT', '-s', '172.30.0.0/24'],
      ['PIER-FORWARD', '-s', '10.213.0.0/16', '-d', '169.254.0.0/16'],
      ['PIER-FORWARD', '-s', '172.30.0.0/24', '-d', '169.254.0.0/16'],
    ]);
  });

  it.each([
    { name: 'no source', sources: [] },
    { name: 'an address without prefix', sources: ['10.213.0.1'] },
    { name: 'host bits set', sources: ['10.213.0.1/16'] },
    { name: 'IPv6', sources: ['fd00::/8'] },
    { name: 'an option', sources: ['--flush'] },
  ])('refuses $name', ({ sources }) => {
    expect(() => hostFirewallPlan({ sources })).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'sources' }));
  });
});
