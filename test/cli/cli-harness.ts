import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { exitWithin, REPO_ROOT, type RunningProcess, scriptCommand, spawnCollecting } from '../support/processes.ts';

export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Default: the harness's empty home folder (outside any clone). */
  cwd?: string;
  /** Added to the fresh environment (PIER_TOKEN, PIER_URL…). */
  env?: Record<string, string>;
  /** Written to the CLI's stdin, then closed; stdin is empty otherwise. */
  stdin?: string;
  /** Default 60 s; a deploy needs more. */
  timeoutMs?: number;
}

/**
 * The bundled `pier` (scripts/build-cli.ts) in a temp folder, and a HOME and
 * XDG_CONFIG_HOME of its own, so the tests run the file users download with
 * none of the developer's settings or PIER_* variables.
 */
export interface CliHarness {
  bundle: string;
  home: string;
  configHome: string;
  run(args: string[], options?: CliRunOptions): Promise<CliResult>;
  /** For commands that run until stopped (`logs -f`): its own process group, output collected. */
  start(args: string[], options?: Omit<CliRunOptions, 'stdin' | 'timeoutMs'>): RunningProcess;
  remove(): void;
}

/** Builds the bundle once (call it in beforeAll). */
export async function buildCli(): Promise<CliHarness> {
  const root = mkdtempSync(join(tmpdir(), 'pier-cli-test-'));
  const bundle = join(root, 'pier.cjs');
  const home = join(root, 'home');
  const configHome = join(home, 'config');
  mkdirSync(home);
  const build = spawnCollecting([...scriptCommand('scripts/build-cli.ts'), bundle], { cwd: REPO_ROOT, env: {} });
  const code = await exitWithin(build, 60_000);
  if (code !== 0) throw new Error(`the CLI did not build (${code}):\n${build.output()}`);

  const environment = (extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: configHome,
    NO_COLOR: '1',
    ...extra,
  });

  return {
    bundle,
    home,
    configHome,
    run: (args, options = {}) => runFile([process.execPath, bundle, ...args], { ...options, env: environment(options.env) }),
    start: (args, options = {}) =>
      spawnCollecting([process.execPath, bundle, ...args], { cwd: options.cwd ?? home, env: environment(options.env) }),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Runs a command with exactly `env` and waits for it, killing its process
 * group after the timeout (the result's code is then `timeout`).
 */
export function runFile(
  command: string[],
  options: Omit<CliRunOptions, 'env'> & { env: Record<string, string> },
): Promise<CliResult> {
  const [file, ...args] = command;
  const child = spawn(file as string, args, {
    cwd: options.cwd ?? options.env.HOME ?? tmpdir(),
    env: options.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => {});
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 'timeout' : (code ?? signal ?? -1), stdout, stderr });
    });
  });
}

/** The result's stdout parsed as JSON; fails the test with its stderr when it is not. */
export function json<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    expect.fail(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** NDJSON (one object per line), as streaming commands print it with --json. */
export function jsonLines<T = any>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as T);
}

/** Checks the exit code, showing the output when it differs. */
export function expectExit(result: CliResult, code: number): void {
  expect(result.code, `exit ${result.code}, expected ${code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(code);
}
