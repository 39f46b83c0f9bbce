import type { Run } from '@pier/client';
import { CliError, EXIT, usageError } from './cli-error.ts';

/** A run as the API presents it (GET …/runs/:run). */
export type { Run } from '@pier/client';

/** States after which a run changes no more. */
export const ENDED_RUN_STATES = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/**
 * The `command` of a run's body from what followed `--`: one word is a shell
 * command line (the API runs a string with `/bin/sh -c`), several are an
 * argument list the API runs as it is, so nothing is quoted or joined.
 */
export function runCommandBody(argv: string[]): string | string[] {
  if (argv.length === 0) throw usageError('missing command: put it after --, e.g. `pier run -- npm run migrate`');
  if (argv.length === 1) {
    const [line] = argv as [string];
    if (line.trim() === '') throw usageError('command: empty');
    return line;
  }
  return argv;
}

/** A command as one line for a table or a question: an argument list shell-quoted, a string as it is. */
export function commandText(command: string | string[]): string {
  return typeof command === 'string' ? command : command.map(shellQuote).join(' ');
}

/** One argument as a POSIX shell reads it back: bare when it is safe, else in single quotes. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The CLI's exit code for an ended run: the command's own exit code when it
 * exited; EXIT.deployFailed with the API's reason when it never exited
 * (timed out, could not start, cancelled, skipped).
 */
export function runExitCode(run: Pick<Run, 'id' | 'state' | 'exitCode' | 'reason'>): number {
  if (run.state === 'succeeded') return EXIT.ok;
  if (run.state === 'failed' && run.exitCode !== null && run.exitCode !== 0) return run.exitCode;
  const why = run.reason ?? (run.state === 'failed' ? 'no reason given' : run.state);
  if (ENDED_RUN_STATES.has(run.state))
    throw new CliError(`run ${run.id} ${run.state}: ${why}`, EXIT.deployFailed, `run_${run.state}`);
  throw new CliError(`run ${run.id} is still ${run.state}`, EXIT.failure, 'run_not_ended');
}
