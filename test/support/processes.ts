import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
}

/**
 * Starts a TypeScript entry point of the repository as its own process group,
 * with exactly `env` (plus PATH), in an empty working directory so that a
 * developer's .env never leaks in.
 */
export function startScript(relativePath: string, env: Record<string, string>, args: string[] = []): RunningProcess {
  const cwd = mkdtempSync(join(tmpdir(), 'pier-proc-'));
  const proc = spawnCollecting([...scriptCommand(relativePath), ...args], { cwd, env });
  void proc.exited.then(() => rmSync(cwd, { recursive: true, force: true }));
  return proc;
}

/** node with tsx running a TypeScript entry point of the repository, as an argument array. */
export function scriptCommand(relativePath: string): string[] {
  return [process.execPath, '--import', TSX_LOADER, join(REPO_ROOT, relativePath)];
}

/**
 * Runs `command` as its own process group with exactly `env` (plus PATH) in
 * `cwd`, collecting its stdout and stderr.
 */
export function spawnCollecting(command: string[], options: { cwd: string; env: Record<string, string> }): RunningProcess {
  const [file, ...args] = command;
  const child = spawn(file as string, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk) => {
      output += chunk;
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, output: () => output, exited };
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls `url` until it answers `status`, or throws after `timeoutMs`. */
export async function waitForHttp(url: string, status = 200, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === status) return res;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** Resolves with the exit, or rejects when the process has not exited after `ms`. */
export function exitWithin(proc: RunningProcess, ms: number): Promise<number | string> {
  return Promise.race([
    proc.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still running after ${ms} ms; output:\n${proc.output()}`)), ms),
    ),
  ]);
}

/** Sends a signal to the whole process group, as a terminal's Ctrl-C does. */
export function signalGroup(proc: RunningProcess, signal: NodeJS.Signals): void {
  if (proc.child.pid) process.kill(-proc.child.pid, signal);
}
