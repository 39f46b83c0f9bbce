import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { expect } from 'vitest';
import { versionedApp } from '../support/deploy-app.ts';
import { exitWithin, REPO_ROOT, type RunningProcess, scriptCommand, signalGroup, spawnCollecting } from '../support/processes.ts';
import { getViaProxy } from '../support/proxy.ts';

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
/** A started CLI process: `output()` is stdout and stderr interleaved, `stdout()`/`stderr()` each alone. */
export interface StartedCli extends RunningProcess {
  stdout(): string;
  stderr(): string;
}

export interface CliHarness {
  bundle: string;
  home: string;
  configHome: string;
  run(args: string[], options?: CliRunOptions): Promise<CliResult>;
  /** For commands watched while they run (`logs -f`, `deploy`): its own process group, stdout and stderr kept apart. */
  start(args: string[], options?: Omit<CliRunOptions, 'stdin' | 'timeoutMs'>): StartedCli;
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
    start: (args, options = {}) => startFile([process.execPath, bundle, ...args], options.cwd ?? home, environment(options.env)),
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

function startFile(command: string[], cwd: string, env: Record<string, string>): StartedCli {
  const [file, ...args] = command;
  const child = spawn(file as string, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const text = { all: '', stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr'] as const) {
    child[name].on('data', (chunk) => {
      text[name] += chunk;
      text.all += chunk;
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, exited, output: () => text.all, stdout: () => text.stdout, stderr: () => text.stderr };
}

/** The result's stdout parsed as JSON; fails the test with its stderr when it is not. */
export function json<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    expect.fail(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** NDJSON (one object per line), as streaming commands print it with --json; a last line not ended yet is left out. */
export function jsonLines<T = any>(text: string): T[] {
  return text
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as T);
}

export interface ApiAnswer {
  status: number;
  text: string;
  json: any;
}

/** Calls the api as an admin, for checking what the CLI did (or setting up what it does not). */
export function apiCaller(apiUrl: string, token: string) {
  return async (route: string, init: { method?: string; body?: unknown } = {}): Promise<ApiAnswer> => {
    const res = await fetch(apiUrl + route, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : null };
  };
}

/** Polls a deployment until it is live; fails at once when it ends any other way. */
export async function waitUntilLive(call: ReturnType<typeof apiCaller>, id: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json: d } = await call(`/deployments/${id}`);
    if (d.state === 'live') return d;
    if (['failed', 'cancelled', 'superseded', 'skipped'].includes(d.state)) {
      expect.fail(`deployment ${id} ended ${d.state}: ${d.reason ?? ''}`);
    }
    if (Date.now() > deadline) expect.fail(`deployment ${id} is still ${d.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until the proxy answers `expected` for `host`. */
export async function proxyAnswers(port: number, host: string, expected: string, timeoutMs = 65_000): Promise<void> {
  await expect
    .poll(
      async () => {
        const answer = await getViaProxy(port, host).catch((e: Error) => e.message);
        return typeof answer === 'string' ? answer : answer.body;
      },
      { timeout: timeoutMs, interval: 300 },
    )
    .toBe(expected);
}

/** Checks exit 0, then parses stdout as JSON. */
export function okJson<T = any>(result: CliResult): T {
  expectExit(result, 0);
  return json<T>(result);
}

/** Checks the exit code, showing the output when it differs. */
export function expectExit(result: CliResult, code: number): void {
  expect(result.code, `exit ${result.code}, expected ${code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(code);
}
/** The versioned test app, logging each request it serves (for `logs -f`); `buildStep` goes right after FROM. */
export function loggingApp(version: string, healthStatus = 200, buildStep?: string): Record<string, string> {
  const files = versionedApp(version, healthStatus);
  const dockerfile = files.Dockerfile as string;
  return {
    ...files,
    Dockerfile: buildStep ? dockerfile.replace('\n', `\n${buildStep}\n`) : dockerfile,
    'server.js': (files['server.js'] as string).replace(
      'const server = http.createServer((req, res) => {',
      "const server = http.createServer((req, res) => {\n  console.log('served ' + req.url);",
    ),
  };
}

/**
 * The bundle built while `stack` starts; when either fails, the other is
 * stopped (or removed) and the failure rethrown.
 */
export async function withCli<S extends { stop(): Promise<void> }>(stack: Promise<S>): Promise<[S, CliHarness]> {
  const [started, built] = await Promise.allSettled([stack, buildCli()]);
  if (started.status === 'fulfilled' && built.status === 'fulfilled') return [started.value, built.value];
  if (started.status === 'fulfilled') await started.value.stop().catch(() => {});
  if (built.status === 'fulfilled') built.value.remove();
  throw started.status === 'rejected' ? started.reason : (built as PromiseRejectedResult).reason;
}

/** Kills a started CLI that is still running (its whole process group). */
export function stopIfRunning(proc: StartedCli): void {
  if (proc.child.exitCode === null && proc.child.signalCode === null) signalGroup(proc, 'SIGKILL');
}

/** Removes Docker networks, and the volumes whose name starts with `volumePrefix`, that a flow's stack leaves; never throws. */
export async function removeDockerLeftovers(networks: string[], volumePrefix: string): Promise<void> {
  const docker = new DockerRuntime();
  for (const network of networks) await docker.removeNetwork(network).catch(() => {});
  const volumes = (await docker.docker.listVolumes().catch(() => ({ Volumes: [] }))).Volumes ?? [];
  for (const volume of volumes) {
    if (volume.Name.startsWith(volumePrefix)) await docker.removeVolume(volume.Name).catch(() => {});
  }
}
