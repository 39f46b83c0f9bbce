import type { RunEnd } from '@pier/db';
import { processCommand } from '../deploy/process-command.ts';
import type { OneOffOutcome } from './one-off-container.ts';

/** How a run's container ended, as the run's record says it: state, exit code, and the reason in words. */
export function runEnd(outcome: OneOffOutcome, timeoutSeconds: number): RunEnd & { reason: string } {
  const seconds = (outcome.durationMs / 1000).toFixed(1);
  switch (outcome.kind) {
    case 'timed-out':
      return { state: 'failed', exitCode: null, reason: `did not finish within ${timeoutSeconds} s: stopped` };
    case 'cancelled':
      return { state: 'cancelled', exitCode: null, reason: `cancelled after ${seconds} s: stopped` };
    case 'exited':
      if (outcome.exitCode === 0) return { state: 'succeeded', exitCode: 0, reason: `exited with code 0 after ${seconds} s` };
      return {
        state: 'failed',
        exitCode: outcome.exitCode,
        reason:
          outcome.exitCode === null
            ? `ended after ${seconds} s without an exit code (its container was removed)`
            : `exited with code ${outcome.exitCode} after ${seconds} s`,
      };
  }
}

/**
 * A run's command as the container's: a string through `/bin/sh` under the
 * process types' script (which passes the stop's SIGTERM on to the command:
 * a bare `/bin/sh -c` as PID 1 would ignore it), an argument list as it is.
 */
export function runArgv(command: string | string[]): string[] {
  return typeof command === 'string' ? processCommand(command) : [...command];
}

const MiB = 1024 * 1024;

/** The container limits a run asks for, in place of the web type's. */
export function runLimits(run: { memoryMb: number | null; cpus: number | null }): { memoryBytes?: number; nanoCpus?: number } {
  return {
    ...(run.memoryMb ? { memoryBytes: run.memoryMb * MiB } : {}),
    ...(run.cpus ? { nanoCpus: Math.round(run.cpus * 1e9) } : {}),
  };
}
