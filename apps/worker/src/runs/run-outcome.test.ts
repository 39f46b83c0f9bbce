import { describe, expect, it } from 'vitest';
import { PROCESS_SHELL } from '../deploy/process-command.ts';
import { runArgv, runEnd, runLimits } from './run-outcome.ts';

describe('runEnd', () => {
  it.each([
    [
      { kind: 'exited', exitCode: 0, durationMs: 1200 },
      { state: 'succeeded', exitCode: 0, reason: 'exited with code 0 after 1.2 s' },
    ],
    [
      { kind: 'exited', exitCode: 3, durationMs: 500 },
      { state: 'failed', exitCode: 3, reason: 'exited with code 3 after 0.5 s' },
    ],
    [
      { kind: 'exited', exitCode: null, durationMs: 0 },
      { state: 'failed', exitCode: null },
    ],
    [
      { kind: 'timed-out', durationMs: 3100 },
      { state: 'failed', exitCode: null, reason: 'did not finish within 3 s: stopped' },
    ],
    [
      { kind: 'cancelled', durationMs: 2000 },
      { state: 'cancelled', exitCode: null, reason: 'cancelled after 2.0 s: stopped' },
    ],
  ] as const)('%o is %o', (outcome, expected) => {
    expect(runEnd(outcome, 3)).toMatchObject(expected);
  });
});

describe('runArgv and runLimits', () => {
  it.each([
    ['echo hi && exit 3', ['/bin/sh', '-c', PROCESS_SHELL, 'pier-process', 'echo hi && exit 3']],
    [
      ['python', 'manage.py', 'migrate'],
      ['python', 'manage.py', 'migrate'],
    ],
  ] as const)('%o runs as %o', (command, argv) => {
    expect(runArgv(command as string | string[])).toEqual(argv);
  });

  it.each([
    [{ memoryMb: null, cpus: null }, {}],
    [{ memoryMb: 256, cpus: null }, { memoryBytes: 256 * 1024 * 1024 }],
    [{ memoryMb: null, cpus: 0.5 }, { nanoCpus: 500_000_000 }],
  ])('%o limits to %o', (run, limits) => {
    expect(runLimits(run)).toEqual(limits);
  });
});
