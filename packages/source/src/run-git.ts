import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** One git invocation: an argument array, never a shell string. */
export interface GitCommand {
  args: readonly string[];
  cwd?: string;
  /** The complete environment of the child (nothing is inherited). */
  env: Record<string, string>;
  gitBinary: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Receives stdout as it arrives, instead of it being collected (and cut at 4 MiB): for output of any length. */
  onStdout?: (chunk: string) => void;
}

export interface GitOutput {
  stdout: string;
  stderr: string;
}

/** Why a git invocation failed: it exited non-zero, could not start, ran too long or was cancelled. */
export class GitFailure extends Error {
  constructor(
    readonly reason: 'exit' | 'spawn' | 'timeout' | 'aborted',
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(`git ${reason}`, options);
    this.name = 'GitFailure';
  }
}

const MAX_STDOUT = 4 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

/**
 * Runs git without a shell, in its own process group, so a timeout or an
 * aborted signal kills git and every helper it started (ssh, remote-https,
 * upload-pack). Settles only after the process has exited.
 */
export function runGit(command: GitCommand): Promise<GitOutput> {
  if (command.signal?.aborted) return Promise.reject(new GitFailure('aborted', ''));
  return new Promise((resolve, reject) => {
    const child = spawn(command.gitBinary, command.args, {
      cwd: command.cwd,
      env: command.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = command.onStdout ? forward(child.stdout, command.onStdout) : collect(child.stdout, MAX_STDOUT, false);
    const stderr = collect(child.stderr, MAX_STDERR, true);
    let stopped: 'timeout' | 'aborted' | undefined;
    const stop = (why: 'timeout' | 'aborted') => {
      stopped ??= why;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop('timeout'), command.timeoutMs);
    const onAbort = () => stop('aborted');
    command.signal?.addEventListener('abort', onAbort, { once: true });
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    let consumerError: unknown;
    child.stdout.on('error', (err) => {
      // stdout broke (a throwing onStdout destroys it): git is stopped and that error is the outcome.
      consumerError ??= err;
      killGroup(child.pid);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      command.signal?.removeEventListener('abort', onAbort);
      if (stopped) reject(new GitFailure(stopped, stderr()));
      else if (consumerError !== undefined) reject(consumerError);
      else if (spawnError) reject(new GitFailure('spawn', spawnError.message, { cause: spawnError }));
      else if (code !== 0) reject(new GitFailure('exit', stderr()));
      else resolve({ stdout: stdout(), stderr: stderr() });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Passes a stream's text to `consume`; an exception from it destroys the stream with that error. */
function forward(stream: Readable, consume: (chunk: string) => void): () => string {
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    try {
      consume(chunk);
    } catch (err) {
      stream.destroy(err as Error);
    }
  });
  return () => '';
}

/** Accumulates a stream; keeps the first (or, with `tail`, the last) `limit` bytes. */
function collect(stream: NodeJS.ReadableStream, limit: number, tail: boolean): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > limit) text = tail ? text.slice(-limit) : text.slice(0, limit);
  });
  return () => text;
}
