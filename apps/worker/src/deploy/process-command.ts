/**
 * The shell script a process type's command runs under, as the container's
 * first process. `/bin/sh -c '<command>'` alone leaves the shell as PID 1,
 * and PID 1 ignores a SIGTERM it has no handler for: the command would never
 * hear the stop and be killed when the grace ran out. This script runs the
 * command (`$1`, any shell text: `node worker.js`, `cd app && ./run`) in the
 * background, passes a SIGTERM on to every process of its process group (the
 * command's, which inherit it), and exits with the command's own status. The
 * command's subshell keeps a no-op trap, so that it outlives the signal until
 * its program has exited (a trap, unlike an ignored signal, is not inherited
 * by the programs it starts).
 */
export const PROCESS_SHELL = [
  'pier_command=$1',
  'shift',
  `trap 'trap "" TERM; kill -TERM 0' TERM`,
  '(trap : TERM; eval "$pier_command") &',
  'child=$!',
  'wait "$child"; status=$?',
  // A trapped signal ends `wait` early: wait again until the command has exited, for its own status.
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'exit "$status"',
].join('\n');

/** A process type's command as the container's: the shell above, then the command as its one argument (`$0` names it). */
export function processCommand(command: string): string[] {
  return ['/bin/sh', '-c', PROCESS_SHELL, 'pier-process', command];
}
