import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processCommand } from './process-command.ts';

/**
 * Runs a process command with the host's /bin/sh in a process group of its
 * own; `stopOn`: once the output has it, SIGTERM to the shell alone (as
 * Docker signals a container's first process).
 */
function run(command: string, stopOn?: string): Promise<{ code: number | null; output: string }> {
  const [file, ...args] = processCommand(command);
  const child = spawn(file as string, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stopped = false;
  const collect = (data: Buffer) => {
    output += data;
    if (stopOn !== undefined && !stopped && output.includes(stopOn)) {
      stopped = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const guard = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 10_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    }),
  );
}

/** A node program that says when it hears SIGTERM, then exits with `code`. */
const listener = (code: number) =>
  `node -e 'process.on("SIGTERM", () => { console.log("heard SIGTERM"); process.exit(${code}) }); console.log("up"); setInterval(() => {}, 1000)'`;

describe('a process command under its shell', () => {
  it.each([
    ['exit 3', 3, ''],
    ['echo "$0 $#"; exit 0', 0, 'pier-process 0\n'],
    ['printf "%s" "a b" && false', 1, 'a b'],
  ])('%s exits with its own status and output', async (command, code, output) => {
    expect(await run(command)).toEqual({ code, output });
  });

  it.each([
    ['a program', listener(0), 0],
    ['the last of a compound command', `cd / && ${listener(4)}`, 4],
  ])('passes a SIGTERM sent to the shell on to %s, and exits with its status', async (_name, command, code) => {
    const result = await run(command, 'up\n');
    expect(result).toEqual({ code, output: 'up\nheard SIGTERM\n' });
  });
});
