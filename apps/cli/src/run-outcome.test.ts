import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from './cli-error.ts';
import { commandText, runCommandBody, runExitCode, shellQuote } from './run-outcome.ts';

describe('runCommandBody', () => {
  it('passes one word as a shell command line and several as an argument list', () => {
    expect(runCommandBody(['npm run migrate && echo done'])).toBe('npm run migrate && echo done');
    expect(runCommandBody(['sh', '-c', 'echo hi; exit 3'])).toEqual(['sh', '-c', 'echo hi; exit 3']);
  });

  it('refuses no command or an empty one', () => {
    expect(() => runCommandBody([])).toThrow(/missing command/);
    expect(() => runCommandBody(['  '])).toThrow(/empty/);
  });
});

describe('commandText', () => {
  it.each([
    ['echo $HOME', 'echo $HOME'],
    [['sh', '-c', 'echo hi; exit 3'], "sh -c 'echo hi; exit 3'"],
    [['printf', "it's"], `printf 'it'\\''s'`],
    [['node', 'a.js', '--port=3000', ''], "node a.js --port=3000 ''"],
  ] as const)('%j → %s', (command, text) => {
    expect(commandText(command as string | string[])).toBe(text);
  });

  it('quotes what a shell would expand', () => {
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote('file.txt')).toBe('file.txt');
  });
});

describe('runExitCode', () => {
  const run = { id: 'r1', reason: null };

  it("is the command's own exit code", () => {
    expect(runExitCode({ ...run, state: 'succeeded', exitCode: 0 })).toBe(0);
    expect(runExitCode({ ...run, state: 'failed', exitCode: 3 })).toBe(3);
    expect(runExitCode({ ...run, state: 'failed', exitCode: 137 })).toBe(137);
  });

  it.each([
    ['failed', 'did not finish within 2 s: stopped'],
    ['cancelled', 'cancelled after 3.5 s: stopped'],
    ['skipped', 'the run of … was still running (concurrency: forbid)'],
  ])('a run %s without an exit code is EXIT.deployFailed with its reason', (state, reason) => {
    let error: unknown;
    try {
      runExitCode({ id: 'r1', state, exitCode: null, reason });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.deployFailed);
    expect((error as CliError).message).toBe(`run r1 ${state}: ${reason}`);
  });

  it('refuses a run that has not ended', () => {
    expect(() => runExitCode({ ...run, state: 'running', exitCode: null })).toThrow(/still running/);
  });
});
