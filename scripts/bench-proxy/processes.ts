/** Starting and stopping the bench's Node processes: upstream, Pier's proxy, the node floor. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PierSpec } from './pier-role.ts';
import { type DataPath, HOST, SELF, TSX_LOADER } from './shared.ts';

/** Every child still running, ended by its PID when the bench exits. */
export const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function startChild(
  args: string[],
  nodeFlags: string[] = [],
): { child: ChildProcess; message: <T>(type: string) => Promise<T> } {
  const child = spawn(process.execPath, [...nodeFlags, '--import', TSX_LOADER, SELF, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  const message = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string } & T) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) before sending ${type}`)));
    });
  return { child, message };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
}

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

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export async function startUpstream(workers: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const { child, message } = startChild(['upstream', String(port), String(workers)]);
  await message('ready');
  return { port, child };
}

/**
 * Resolves once a GET of `path` with the bench's Host answers 200: the proxy
 * serves the route (before, it answers 502/503 itself or refuses the connection).
 */
export async function waitForRoute(port: number, path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await get(port, path).catch(() => null);
    if (answer?.status === 200) return;
    await sleep(100);
  }
  throw new Error(`127.0.0.1:${port} did not serve the bench route within ${timeoutMs} ms`);
}

/** One GET on a fresh connection, with the bench's Host and any other headers. */
export function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host: HOST, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

export interface PierProcess {
  port: number;
  child: ChildProcess;
  /** RSS and open fds of the primary, after a GC. */
  stats: () => Promise<{ rssMb: number; fds: number }>;
  switchTo: (upstreamPort: number) => void;
  stop: () => Promise<void>;
}

/**
 * Pier's proxy as production runs it (`runPierProxy`), with `processes` as
 * PIER_PROXY_PROCESSES; ready once `readyPath` of the upstream answers 200 through it.
 */
export async function startPier(dataPath: DataPath, upstreamPort: number, processes = 1, readyPath = '/'): Promise<PierProcess> {
  const snapshotDir = mkdtempSync(join(tmpdir(), 'pier-bench-proxy-'));
  const spec: PierSpec = {
    dataPath,
    processes,
    httpPort: await freePort(),
    httpsPort: await freePort(),
    adminPort: await freePort(),
    upstreamPort,
    snapshotDir,
  };
  const { child, message } = startChild(['pier', JSON.stringify(spec)], ['--expose-gc']);
  const stop = async () => {
    await stopChild(child);
    rmSync(snapshotDir, { recursive: true, force: true });
  };
  try {
    await message('ready');
    await waitForRoute(spec.httpPort, readyPath);
  } catch (err) {
    await stop();
    throw err;
  }
  const stats = async () => {
    const reply = message<{ rssMb: number; fds: number }>('stats');
    child.send({ type: 'stats' });
    return reply;
  };
  return { port: spec.httpPort, child, stats, switchTo: (port) => child.send({ type: 'route', upstreamPort: port }), stop };
}

/** Pier's proxy with request counting off or flushed to Postgres (`runMetricsProxy`); `mode` is a JSON MetricsMode. */
export async function startMetricsProxy(upstreamPort: number, mode: string) {
  const port = await freePort();
  const { child, message } = startChild(['metrics-proxy', String(port), String(upstreamPort), mode]);
  await message('ready');
  return { port, child };
}

/** The bare node:http + undici pass-through (`runFloor`). */
export async function startFloor(upstreamPort: number) {
  const port = await freePort();
  const { child, message } = startChild(['floor', String(port), String(upstreamPort)]);
  await message('ready');
  return { port, child };
}
