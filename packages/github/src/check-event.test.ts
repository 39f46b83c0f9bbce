import { describe, expect, it } from 'vitest';
import { examplePayload } from './example-payloads.ts';
import { routeEvent } from './route-event.ts';

/** GitHub's check events, from real example payloads: which check of which commit, its result and when. Never a deploy. */

const SUITE_SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const STATUS_SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const WORKFLOW_SHA = '3484a3fb816e0859fd6e1cea078d76385ff50625';

function route(event: string, payload: unknown) {
  return routeEvent(event, payload, [{ id: 'env-staging', name: 'staging', branch: 'master', tagPattern: null }]);
}

describe('check events', () => {
  it.each([
    [
      'a completed check suite, named by its app, told apart by its id',
      'check_suite',
      () => examplePayload('checkSuiteCompleted'),
      {
        kind: 'check_suite',
        commit: SUITE_SHA,
        name: 'octocoders-linter',
        key: 'suite-118578147',
        conclusion: 'success',
        at: new Date('2019-05-15T15:21:14Z'),
      },
    ],
    [
      'a check run created: pending, at its start',
      'check_run',
      () => examplePayload('checkRunCreated'),
      {
        kind: 'check_run',
        commit: SUITE_SHA,
        name: 'Octocoders-linter',
        key: 'suite-118578147:Octocoders-linter',
        conclusion: 'pending',
        at: new Date('2019-05-15T15:21:12Z'),
      },
    ],
    [
      'a check run failed',
      'check_run',
      () => examplePayload('checkRunFailed'),
      {
        kind: 'check_run',
        commit: SUITE_SHA,
        name: 'Octocoders-linter',
        key: 'suite-118578147:Octocoders-linter',
        conclusion: 'failure',
        at: new Date('2019-05-15T15:21:12Z'),
      },
    ],
    [
      'a commit status, named by its context',
      'status',
      () => examplePayload('statusSuccess'),
      {
        kind: 'status',
        commit: STATUS_SHA,
        name: 'default',
        key: 'default',
        conclusion: 'success',
        at: new Date('2019-05-15T15:20:55Z'),
      },
    ],
    [
      'a workflow run without a name: named by its file',
      'workflow_run',
      () => examplePayload('workflowRunCompleted'),
      {
        kind: 'workflow_run',
        commit: WORKFLOW_SHA,
        name: '.github/workflows/test.yml',
        key: '.github/workflows/test.yml',
        conclusion: 'success',
        at: new Date('2020-10-05T16:33:49Z'),
      },
    ],
    [
      'a workflow run requested: pending',
      'workflow_run',
      () => ({
        ...examplePayload('workflowRunRequested'),
        workflow_run: { ...examplePayload('workflowRunRequested').workflow_run, name: 'CI' },
      }),
      {
        kind: 'workflow_run',
        commit: WORKFLOW_SHA,
        name: 'CI',
        key: 'CI',
        conclusion: 'pending',
        at: new Date('2020-10-05T16:33:24Z'),
      },
    ],
  ])('%s', (_, event, payload, report) => {
    expect(route(event, payload())).toEqual({ kind: 'check', report });
  });

  it.each([
    [
      'a check suite requested (only GitHub Apps get these)',
      'check_suite',
      () => examplePayload('checkSuiteRequested'),
      'not completed',
    ],
    ['a check run rerequested', 'check_run', () => examplePayload('checkRunRerequested'), 'not created or completed'],
    ['no action', 'check_run', () => ({ check_run: {} }), 'check_run payload is malformed at action'],
    [
      'a short commit id',
      'check_suite',
      () => {
        const payload = examplePayload('checkSuiteCompleted') as Record<string, any>;
        payload.check_suite.head_sha = 'ec26c3e';
        return payload;
      },
      'check_suite payload is malformed at check_suite.head_sha',
    ],
    [
      'a completed check run without a conclusion',
      'check_run',
      () => {
        const payload = examplePayload('checkRunSucceeded') as Record<string, any>;
        payload.check_run.conclusion = null;
        return payload;
      },
      'completed check_run has no conclusion',
    ],
    [
      'a status with an unknown state',
      'status',
      () => ({ ...examplePayload('statusSuccess'), state: 'green' }),
      'status payload is malformed at state',
    ],
    [
      'a check run whose name is blank',
      'check_run',
      () => {
        const payload = examplePayload('checkRunSucceeded') as Record<string, any>;
        payload.check_run.name = ' \n ';
        return payload;
      },
      'check_run has no name',
    ],
  ])('ignores %s', (_, event, payload, reason) => {
    const decision = route(event, payload());
    expect(decision.kind).toBe('ignored');
    expect(decision.kind === 'ignored' && decision.reason).toContain(reason);
  });

  describe('check runs are kept per suite and name', () => {
    /** A completed check run of `name` with GitHub's ids as given (null: the field left out). */
    const runKey = (name: string, ids: { run: number; suite: number | null; app: number | null }) => {
      const payload = examplePayload('checkRunSucceeded') as Record<string, any>;
      payload.check_run.id = ids.run;
      payload.check_run.name = name;
      if (ids.suite === null) delete payload.check_run.check_suite;
      else payload.check_run.check_suite.id = ids.suite;
      if (ids.app === null) delete payload.check_run.app;
      else payload.check_run.app.id = ids.app;
      const decision = route('check_run', payload);
      if (decision.kind !== 'check') throw new Error(JSON.stringify(decision));
      return decision.report.key;
    };

    it.each([
      ['in a suite', { run: 1, suite: 7, app: 15368 }, 'suite-7:build'],
      ['without a suite: per app', { run: 1, suite: null, app: 15368 }, 'app-15368:build'],
      ['without a suite or app: by name', { run: 1, suite: null, app: null }, 'build'],
    ])('%s', (_, ids, key) => {
      expect(runKey('build', ids)).toBe(key);
    });

    it('two workflows’ jobs of one name are two checks (GitHub Actions makes a suite per workflow run)', () => {
      const first = runKey('build', { run: 1, suite: 7, app: 15368 });
      const second = runKey('build', { run: 2, suite: 8, app: 15368 });
      expect(first).not.toBe(second);
    });

    it('a re-run of a job (a new check run in the same suite) is the same check: its result replaces the earlier one', () => {
      expect(runKey('build', { run: 2, suite: 7, app: 15368 })).toBe(runKey('build', { run: 1, suite: 7, app: 15368 }));
    });

    it('a malformed suite id counts as absent', () => {
      const payload = examplePayload('checkRunSucceeded') as Record<string, any>;
      payload.check_run.check_suite.id = 'seven';
      const decision = route('check_run', payload);
      expect(decision.kind === 'check' && decision.report.key).toBe('app-29310:Octocoders-linter');
    });

    it('a name capped at 200 characters keeps its whole scope', () => {
      const key = runKey('x'.repeat(300), { run: 1, suite: 7, app: 15368 });
      expect(key).toBe(`suite-7:${'x'.repeat(200)}`);
    });
  });

  it('keeps a name printable and at most 200 characters', () => {
    const payload = examplePayload('checkRunSucceeded') as Record<string, any>;
    payload.check_run.name = `test\u0000\u001b[31m${'x'.repeat(300)}`;
    const decision = route('check_run', payload);
    if (decision.kind !== 'check') throw new Error(JSON.stringify(decision));
    expect(decision.report.name).toHaveLength(200);
    expect(decision.report.name).toMatch(/^test {2}\[31mx+$/);
  });

  it('a conclusion GitHub adds later passes through as it is (core decides it fails)', () => {
    const payload = examplePayload('checkSuiteCompleted') as Record<string, any>;
    payload.check_suite.conclusion = 'startup_failure';
    const decision = route('check_suite', payload);
    expect(decision.kind === 'check' && decision.report.conclusion).toBe('startup_failure');
  });

  it('a time that is absent or malformed is null: the report then counts as now', () => {
    const payload = examplePayload('statusSuccess') as Record<string, any>;
    payload.updated_at = 'yesterday';
    const decision = route('status', payload);
    expect(decision.kind === 'check' && decision.report.at).toBeNull();
  });
});
