import { describe, expect, it } from 'vitest';
import {
  type CheckResult,
  checkFailedReason,
  checkOutcome,
  checksTimeoutReason,
  checksVerdict,
  waitsForChecks,
} from './checks-gate.ts';

const suite = (name: string, conclusion: string): CheckResult => ({ kind: 'check_suite', name, conclusion });
const run = (name: string, conclusion: string): CheckResult => ({ kind: 'check_run', name, conclusion });
const status = (name: string, conclusion: string): CheckResult => ({ kind: 'status', name, conclusion });

describe('checkOutcome', () => {
  it.each([
    ['pending', 'pending'],
    ['success', 'passed'],
    ['neutral', 'passed'],
    ['skipped', 'passed'],
    ['failure', 'failed'],
    ['error', 'failed'],
    ['cancelled', 'failed'],
    ['timed_out', 'failed'],
    ['action_required', 'failed'],
    ['stale', 'failed'],
    ['startup_failure', 'failed'],
    ['something-new', 'failed'],
  ])('%s → %s', (conclusion, outcome) => {
    expect(checkOutcome(conclusion)).toBe(outcome);
  });
});

describe('checksVerdict', () => {
  it.each<[string, CheckResult[], string[] | null, ReturnType<typeof checksVerdict>]>([
    ['nothing reported yet: waits', [], null, { kind: 'waiting', waitingFor: [] }],
    ['one suite passed', [suite('GitHub Actions', 'success')], null, { kind: 'passed' }],
    [
      'one passed, one still running: waits for it',
      [suite('GitHub Actions', 'success'), run('deploy-preview', 'pending')],
      null,
      { kind: 'waiting', waitingFor: ['deploy-preview'] },
    ],
    [
      'a failure fails at once, even with others pending',
      [run('lint', 'pending'), run('test', 'failure')],
      null,
      { kind: 'failed', check: run('test', 'failure') },
    ],
    [
      'neutral and skipped pass',
      [run('docs', 'skipped'), status('ci/coverage', 'neutral'), run('test', 'success')],
      null,
      { kind: 'passed' },
    ],
    ['required: others do not count', [run('lint', 'failure'), run('test', 'success')], ['test'], { kind: 'passed' }],
    ['required: one not reported yet', [run('test', 'success')], ['test', 'e2e'], { kind: 'waiting', waitingFor: ['e2e'] }],
    [
      'required: a name reported twice passes only when both did',
      [run('ci', 'success'), status('ci', 'pending')],
      ['ci'],
      { kind: 'waiting', waitingFor: ['ci'] },
    ],
    [
      'required: a failing one fails',
      [run('test', 'timed_out'), run('e2e', 'success')],
      ['test', 'e2e'],
      { kind: 'failed', check: run('test', 'timed_out') },
    ],
    ['required: nothing reported', [], ['test'], { kind: 'waiting', waitingFor: ['test'] }],
    [
      'required: a name two workflows share fails when one of its runs failed, whichever came last',
      [run('build', 'failure'), run('build', 'success')],
      ['build'],
      { kind: 'failed', check: run('build', 'failure') },
    ],
    [
      'required: a name two workflows share waits while one of its runs is pending',
      [run('build', 'success'), run('build', 'pending')],
      ['build'],
      { kind: 'waiting', waitingFor: ['build'] },
    ],
    [
      'required: a name two workflows share passes once each run passed',
      [run('build', 'success'), run('build', 'success')],
      ['build'],
      { kind: 'passed' },
    ],
  ])('%s', (_, results, required, verdict) => {
    expect(checksVerdict(results, required)).toEqual(verdict);
  });

  it('names the same failing check whatever the order of the results', () => {
    const results = [run('zeta', 'failure'), run('alpha', 'failure'), suite('GitHub Actions', 'success')];
    expect(checksVerdict(results, null)).toEqual(checksVerdict([...results].reverse(), null));
    expect(checksVerdict(results, null)).toEqual({ kind: 'failed', check: run('alpha', 'failure') });
  });
});

describe('waitsForChecks', () => {
  const repo = { hasRepository: true, reportsChecks: true };
  it.each([
    ['staging, unset, repository reporting checks', { name: 'staging', waitForChecks: null }, repo, true],
    [
      'staging, unset, no check event seen yet',
      { name: 'staging', waitForChecks: null },
      { ...repo, reportsChecks: false },
      false,
    ],
    [
      'staging, unset, no repository',
      { name: 'staging', waitForChecks: null },
      { hasRepository: false, reportsChecks: true },
      false,
    ],
    ['production, unset', { name: 'production', waitForChecks: null }, repo, false],
    ['production, on', { name: 'production', waitForChecks: true }, { hasRepository: true, reportsChecks: false }, true],
    ['staging, off', { name: 'staging', waitForChecks: false }, repo, false],
  ])('%s → %s', (_, environment, app, waits) => {
    expect(waitsForChecks(environment, app)).toBe(waits);
  });
});

describe('reasons', () => {
  it('a failed check is named with its kind and conclusion', () => {
    expect(checkFailedReason(suite('GitHub Actions', 'failure'))).toBe(
      'check suite "GitHub Actions" did not pass (failure): not built',
    );
  });

  it('a timeout says how long and which setting', () => {
    expect(checksTimeoutReason(1_800_000)).toBe(
      "GitHub's checks of the commit did not finish within 30 min (checksTimeoutMs): not built",
    );
  });
});
