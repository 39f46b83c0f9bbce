/** Load runs (wrk, or the built-in generator) and what they measure. */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startChild } from './processes.ts';
import { fmt, HOST, type LoadResult, type Measured, type Settings, type Target } from './shared.ts';

export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export async function load(port: number, settings: Settings, durationS = settings.durationS, path = '/'): Promise<LoadResult> {
  if (hasWrk()) return wrk(port, settings.connections, durationS, path);
  const { message } = startChild(['loadgen', String(port), String(settings.connections), String(durationS), String(5_000_000)]);
  return (await message<{ result: LoadResult }>('result')).result;
}

export function wrk(port: number, connections: number, durationS: number, path: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const args = [
      '-t1',
      `-c${connections}`,
      `-d${durationS}s`,
      '--timeout',
      '10s',
      '--latency',
      '-H',
      `Host: ${HOST}`,
      `http://127.0.0.1:${port}${path}`,
    ];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('exit', () => resolve(parseWrk(out)));
  });
}

export function parseWrk(out: string): LoadResult {
  const duration = (text: string | undefined): number => {
    const m = /([\d.]+)(us|ms|s|m)/.exec(text ?? '');
    if (!m) return Number.NaN;
    const value = Number(m[1]);
    return m[2] === 'us' ? value / 1000 : m[2] === 'ms' ? value : m[2] === 's' ? value * 1000 : value * 60_000;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50ms: duration(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99ms: duration(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    errors: non2xx + socketErrors,
  };
}

/** One measured run per target per round, targets interleaved so that load from elsewhere hits them alike. */
export async function measureRounds(targets: Target[], settings: Settings): Promise<Measured[]> {
  const runs = new Map<string, LoadResult[]>(targets.map(({ name }) => [name, []]));
  for (let round = 1; round <= settings.rounds; round++) {
    const line: string[] = [];
    // Every other round in the reverse order, so that going first or last favours no target.
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const { name, port, pid } of order) {
      await load(port, settings, round === 1 ? 2 : 1); // warm-up: JIT, keep-alive pools
      const cpuBefore = cpuSecondsOfTree(pid);
      const result = await load(port, settings);
      result.cpuUsPerRequest = ((cpuSecondsOfTree(pid) - cpuBefore) * 1e6) / Math.max(1, result.requests);
      runs.get(name)?.push(result);
      line.push(`${name} ${fmt(result.rps, 0)}`);
    }
    process.stdout.write(
      `  round ${round}/${settings.rounds} (req/s): ${line.join(' · ')}   load avg ${fmt(loadavg()[0] ?? 0, 1)}\n`,
    );
  }
  return targets.map((target) => ({ target, result: medianResult(runs.get(target.name) ?? []) }));
}

export const CLOCK_TICKS = 100; // USER_HZ on Linux

/** A process and its descendants, from /proc (those that exited meanwhile left out). */
export function processTree(pid: number): number[] {
  const pids: number[] = [];
  const visit = (id: number) => {
    try {
      for (const task of readdirSync(`/proc/${id}/task`)) {
        const children = readFileSync(`/proc/${id}/task/${task}/children`, 'utf8').trim();
        for (const child of children ? children.split(' ') : []) visit(Number(child));
      }
      pids.push(id);
    } catch {
      // The process exited meanwhile.
    }
  };
  visit(pid);
  return pids;
}

/** User + system CPU seconds of a process and its descendants, every thread included (from /proc). */
export function cpuSecondsOfTree(pid: number): number {
  let ticks = 0;
  for (const id of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process exited meanwhile.
    }
  }
  return ticks / CLOCK_TICKS;
}

/** Per metric, the median over rounds. */
export function medianResult(results: LoadResult[]): LoadResult {
  const median = (pick: (r: LoadResult) => number) => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
  };
  return {
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    rps: median((r) => r.rps),
    p50ms: median((r) => r.p50ms),
    p99ms: median((r) => r.p99ms),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    cpuUsPerRequest: median((r) => r.cpuUsPerRequest ?? Number.NaN),
  };
}
