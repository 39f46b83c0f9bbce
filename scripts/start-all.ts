/**
 * Runs api, worker and proxy in the foreground as child processes. Ctrl-C (or
 * SIGTERM) is passed to all three and waited for; if one exits on its own,
 * the others are stopped too, so nothing is left half-running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROCESSES = ['api', 'worker', 'proxy'] as const;
const TSX_LOADER = import.meta.resolve('tsx');
const entry = (name: string) => fileURLToPath(new URL(`../apps/${name}/src/main.ts`, import.meta.url));
const STOP_TIMEOUT_MS = 35_000;

const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;

for (const name of PROCESSES) {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, entry(name)], { stdio: 'inherit' });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      process.stderr.write(`pier: ${name} exited (${signal ?? `code ${code}`}); stopping the others\n`);
      exitCode = code || 1;
      stopAll('SIGTERM');
    }
    if (children.size === 0) process.exit(exitCode);
  });
}

function stopAll(signal: NodeJS.Signals): void {
  stopping = true;
  for (const child of children.values()) child.kill(signal);
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS).unref();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    // A terminal's Ctrl-C also reached every child (same process group); the
    // children ignore the forwarded copy, so a signal sent here alone works too.
    stopAll(signal);
  });
}
