/**
 * `npm run bench`: Pier's edge proxy against nginx, on this machine, in one run,
 * against the same upstream (a node:cluster HTTP server on 127.0.0.1).
 *
 * Prints requests/s and p50/p99 latency for: the upstream direct, Pier's proxy
 * on each data path (undici, http-proxy) and nginx (Debian package, upstream
 * keepalive, as many worker processes as Pier's proxy has: 1), with the ratios
 * Pier/nginx against the targets (≥ 70 % throughput, p99 ≤ 1.5×). Then the
 * requests failed while the route is switched to another upstream under load
 * (a rolling deploy, target 0), and the proxy's RSS and open fds around a soak
 * of requests the client aborts (flat = no leak).
 *
 * Load comes from `wrk` (Debian package) when installed, else from a small
 * keep-alive load generator in its own process. Loopback only; every child is
 * ended by its PID. Not part of `npm test`.
 *
 *   npm run bench [-- --duration 8 --rounds 3 --connections 64 --soak 5000 --upstream-workers 2]
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Route } from '@pier/core';
import {
  EdgeProxy,
  type Forwarder,
  HealthPoller,
  HttpProxyForwarder,
  ProxyMetrics,
  RouteTable,
  UndiciForwarder,
} from '@pier/proxy';
import { Pool } from 'undici';

const SELF = fileURLToPath(import.meta.url);
const TSX_LOADER = import.meta.resolve('tsx');
const HOST = 'bench.pier.test';
const BODY = 'hello, world\n';
type DataPath = 'undici' | 'http-proxy';
const DATA_PATHS: DataPath[] = ['undici', 'http-proxy'];

interface LoadResult {
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  /** CPU time of the measured process tree per request, µs (contention hardly moves it). */
  cpuUsPerRequest?: number;
}

/** A process to load: its port, and the PID whose process tree's CPU time is measured. */
interface Target {
  name: string;
  port: number;
  pid: number;
}

interface Settings {
  durationS: number;
  connections: number;
  soak: number;
  upstreamWorkers: number;
  rounds: number;
}

// ───────────────────────────── child roles ─────────────────────────────

/** Minimal upstream: `node:cluster` workers sharing one port; `/slow` answers after 20 ms. */
function runUpstream(port: number, workers: number): void {
  if (cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    let online = 0;
    cluster.on('listening', () => {
      if (++online === workers) process.send?.({ type: 'ready' });
    });
    process.on('SIGTERM', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.send('drain');
      setTimeout(() => process.exit(0), 2_000).unref();
      cluster.on('exit', () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
    });
    return;
  }
  const server = createServer((req, res) => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(BODY.length) });
      res.end(BODY);
    };
    if (req.url === '/slow') setTimeout(answer, 20);
    else answer();
  });
  server.listen(port, '127.0.0.1');
  process.on('message', (message) => {
    if (message !== 'drain') return;
    // Graceful: finish what is in flight, close idle keep-alive connections.
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}

/** Pier's proxy as a process of its own: EdgeProxy + one data path + health polling, like apps/proxy. */
async function runProxy(dataPath: DataPath, port: number, upstreamPort: number): Promise<void> {
  const forwarder: Forwarder = dataPath === 'undici' ? new UndiciForwarder() : new HttpProxyForwarder();
  const table = new RouteTable();
  const poller = new HealthPoller({ targets: () => table.healthTargets() });
  const apply = (routes: Route[]) => {
    table.replace(routes);
    poller.sync();
    forwarder.retain(routes.flatMap((r) => r.upstreams));
  };
  apply([benchRoute(upstreamPort)]);
  poller.start();
  const metrics = new ProxyMetrics();
  const edge = new EdgeProxy({ routes: table, health: poller, forwarder, metrics });
  const server = createServer({ keepAliveTimeout: 5_000 });
  edge.attach(server);
  server.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready' }));
  // Exit cleanly (flushes --cpu-prof output when profiling a run by hand), naming any upstream errors seen.
  const exit = () => {
    const problems = metrics
      .render()
      .split('\n')
      .filter((l) => /^pier_proxy_(upstream_errors_total|upstream_retries_total [1-9])/.test(l));
    if (problems.length > 0) process.stderr.write(`proxy (${dataPath}) upstream errors:\n  ${problems.join('\n  ')}\n`);
    process.exit(0);
  };
  process.on('SIGINT', exit);
  process.on('SIGTERM', exit);
  process.on('message', (message: { type: string; upstreamPort?: number }) => {
    if (message.type === 'route' && message.upstreamPort) apply([benchRoute(message.upstreamPort)]);
    if (message.type === 'stats') {
      (globalThis as { gc?: () => void }).gc?.();
      const fds = readdirSync('/proc/self/fd').length;
      process.send?.({ type: 'stats', rssMb: process.memoryUsage().rss / 2 ** 20, fds });
    }
  });
}

function benchRoute(upstreamPort: number): Route {
  return {
    app: 'bench',
    env: 'production',
    hostnames: [HOST],
    upstreams: [{ id: `up-${upstreamPort}`, host: '127.0.0.1', port: upstreamPort }],
  };
}

/** Closed-loop keep-alive load (the fallback when wrk is missing): `connections` loops, bounded by count and time. */
async function runLoadgen(port: number, connections: number, durationS: number, maxRequests: number): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationS * 1000;
  const started = performance.now();
  const loop = async () => {
    while (performance.now() < deadline && latencies.length + errors < maxRequests) {
      const t0 = performance.now();
      try {
        const { statusCode, body } = await pool.request({ path: '/', method: 'GET', headers: { host: HOST } });
        await body.dump();
        if (statusCode >= 400) errors++;
        else latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
  const result: LoadResult = {
    requests: latencies.length,
    rps: latencies.length / elapsedS,
    p50ms: pct(50),
    p99ms: pct(99),
    errors,
  };
  process.send?.({ type: 'result', result });
}

/** Requests the client abandons: half before any answer, half after the first bytes; `/slow` keeps them in flight. */
async function runAbortSoak(port: number, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/slow', agent: false, headers: { host: HOST } });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      if (i % 2 === 0) setTimeout(() => req.destroy(), i % 7);
      else req.on('response', (res) => res.once('data', () => req.destroy()).resume());
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  process.send?.({ type: 'result', result: { aborted: count } });
}

// ───────────────────────────── orchestration ─────────────────────────────

const children = new Set<ChildProcess>();

function startChild(args: string[], nodeFlags: string[] = []): { child: ChildProcess; message: <T>(type: string) => Promise<T> } {
  const child = spawn(process.execPath, [...nodeFlags, '--import', TSX_LOADER, SELF, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
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

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
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

async function startUpstream(workers: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const { child, message } = startChild(['upstream', String(port), String(workers)]);
  await message('ready');
  return { port, child };
}

async function startPier(dataPath: DataPath, upstreamPort: number) {
  const port = await freePort();
  const { child, message } = startChild(['proxy', dataPath, String(port), String(upstreamPort)], ['--expose-gc']);
  await message('ready');
  const stats = async () => {
    const reply = message<{ rssMb: number; fds: number }>('stats');
    child.send({ type: 'stats' });
    return reply;
  };
  return { port, child, stats, switchTo: (upstreamPort: number) => child.send({ type: 'route', upstreamPort }) };
}

/** nginx from the Debian package, generated config in a temp prefix, 127.0.0.1 only, ended by its PID. */
async function startNginx(upstreamPort: number, workers: number): Promise<{ port: number; child: ChildProcess; prefix: string }> {
  const port = await freePort();
  const prefix = mkdtempSync(join(tmpdir(), 'pier-bench-nginx-'));
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    server_name ${HOST};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  await waitForPort(port);
  return { port, child, prefix };
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

async function load(port: number, settings: Settings, durationS = settings.durationS, path = '/'): Promise<LoadResult> {
  if (hasWrk()) return wrk(port, settings.connections, durationS, path);
  const { message } = startChild(['loadgen', String(port), String(settings.connections), String(durationS), String(5_000_000)]);
  return (await message<{ result: LoadResult }>('result')).result;
}

function wrk(port: number, connections: number, durationS: number, path: string): Promise<LoadResult> {
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

function parseWrk(out: string): LoadResult {
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
async function measureRounds(targets: Target[], settings: Settings): Promise<[string, LoadResult][]> {
  const runs = new Map<string, LoadResult[]>(targets.map(({ name }) => [name, []]));
  for (let round = 1; round <= settings.rounds; round++) {
    const line: string[] = [];
    for (const { name, port, pid } of targets) {
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
  return targets.map(({ name }) => [name, medianResult(runs.get(name) ?? [])]);
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds of a process and its descendants (from /proc). */
function cpuSecondsOfTree(pid: number): number {
  let ticks = 0;
  const visit = (id: number) => {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      for (const task of readdirSync(`/proc/${id}/task`)) {
        const children = readFileSync(`/proc/${id}/task/${task}/children`, 'utf8').trim();
        for (const child of children ? children.split(' ') : []) visit(Number(child));
      }
    } catch {
      // The process exited meanwhile.
    }
  };
  visit(pid);
  return ticks / CLOCK_TICKS;
}

/** Per metric, the median over rounds. */
function medianResult(results: LoadResult[]): LoadResult {
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

/** Switches the route to a second upstream mid-load, then drains and stops the first: failures must be 0. */
async function rollingSwitch(dataPath: DataPath, settings: Settings): Promise<LoadResult> {
  const first = await startUpstream(1);
  const second = await startUpstream(1);
  const pier = await startPier(dataPath, first.port);
  try {
    const durationS = 6;
    const running = load(pier.port, settings, durationS);
    await sleep(2_000);
    pier.switchTo(second.port);
    await sleep(1_000); // drain: the old replica finishes what it has
    await stopChild(first.child);
    return await running;
  } finally {
    await Promise.all([stopChild(pier.child), stopChild(second.child), stopChild(first.child)]);
  }
}

async function abortSoak(dataPath: DataPath, upstreamPort: number, settings: Settings) {
  const pier = await startPier(dataPath, upstreamPort);
  try {
    await load(pier.port, settings, 2);
    await sleep(500);
    const before = await pier.stats();
    const { message } = startChild(['abort-soak', String(pier.port), String(settings.soak), '50']);
    await message('result');
    const after = await pier.stats();
    await sleep(6_000); // past the 4 s keep-alive timeout of pooled upstream sockets
    const idle = await pier.stats();
    return { before, after, idle };
  } finally {
    await stopChild(pier.child);
  }
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

function parseSettings(argv: string[]): Settings {
  const flag = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    const value = i === -1 ? Number.NaN : Number(argv[i + 1]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return {
    durationS: flag('duration', 8),
    rounds: flag('rounds', 3),
    connections: flag('connections', 64),
    soak: flag('soak', 5_000),
    upstreamWorkers: flag('upstream-workers', Math.max(1, availableParallelism())),
  };
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const generator = hasWrk() ? 'wrk -t1' : 'node keep-alive generator (wrk not installed)';
  process.stdout.write(
    `pier proxy bench: ${availableParallelism()} CPUs, node ${process.version}, load: ${generator}, ${settings.connections} connections, ` +
      `${settings.durationS} s per target and round, ${settings.rounds} rounds (medians); upstream: node:cluster × ${settings.upstreamWorkers}; ` +
      `proxies: 1 process each; load avg ${loadavg()
        .map((n) => fmt(n, 1))
        .join(' ')}\n`,
  );
  const upstream = await startUpstream(settings.upstreamWorkers);
  try {
    const piers = await Promise.all(DATA_PATHS.map((dataPath) => startPier(dataPath, upstream.port)));
    const nginx = await startNginx(upstream.port, 1);
    const targets: Target[] = [
      { name: 'upstream direct', port: upstream.port, pid: upstream.child.pid ?? 0 },
      ...DATA_PATHS.map((dataPath, i) => ({
        name: `pier (${dataPath})`,
        port: piers[i]?.port ?? 0,
        pid: piers[i]?.child.pid ?? 0,
      })),
      { name: 'nginx (1 worker)', port: nginx.port, pid: nginx.child.pid ?? 0 },
    ];
    const results = await measureRounds(targets, settings);
    await Promise.all([...piers.map((pier) => stopChild(pier.child)), stopChild(nginx.child, 'SIGQUIT')]);
    rmSync(nginx.prefix, { recursive: true, force: true });
    printTable(results);

    process.stdout.write('\nrolling switch under load (route → new upstream, old one drained and stopped):\n');
    for (const dataPath of DATA_PATHS) {
      const r = await rollingSwitch(dataPath, settings);
      process.stdout.write(`  pier (${dataPath}): ${r.requests} requests, ${r.errors} failed (target 0)\n`);
    }

    process.stdout.write(`\nsoak: ${settings.soak} requests aborted by the client (half before, half during the response):\n`);
    process.stdout.write('  data path      RSS MB before → after → idle     open fds before → after → idle\n');
    for (const dataPath of DATA_PATHS) {
      const { before, after, idle } = await abortSoak(dataPath, upstream.port, settings);
      process.stdout.write(
        `  ${dataPath.padEnd(12)} ${fmt(before.rssMb, 1).padStart(8)} → ${fmt(after.rssMb, 1)} → ${fmt(idle.rssMb, 1)}` +
          `${String(before.fds).padStart(16)} → ${after.fds} → ${idle.fds}\n`,
      );
    }
  } finally {
    await stopChild(upstream.child);
    await Promise.all([...children].map((child) => stopChild(child)));
  }
}

function printTable(results: [string, LoadResult][]): void {
  const header = [
    'target'.padEnd(20),
    'req/s'.padStart(9),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'errors'.padStart(7),
    'CPU µs/req'.padStart(11),
  ];
  const rows = results.map(([name, r]) =>
    [
      name.padEnd(20),
      fmt(r.rps, 0).padStart(9),
      fmt(r.p50ms).padStart(8),
      fmt(r.p99ms).padStart(8),
      String(r.errors).padStart(7),
      fmt(r.cpuUsPerRequest ?? Number.NaN, 0).padStart(11),
    ].join(' '),
  );
  process.stdout.write(`\n${header.join(' ')}\n${rows.join('\n')}\n`);
  process.stdout.write('(CPU µs/req: the measured process tree only: the upstream for "direct", else the proxy alone)\n');
  const nginx = results.find(([name]) => name.startsWith('nginx'))?.[1];
  if (!nginx) return;
  process.stdout.write('\nPier / nginx        throughput      p99     CPU/req   (targets: throughput ≥ 70 %, p99 ≤ 1.5×)\n');
  for (const [name, r] of results.filter(([n]) => n.startsWith('pier'))) {
    const throughput = r.rps / nginx.rps;
    const p99 = r.p99ms / nginx.p99ms;
    const cpu = (r.cpuUsPerRequest ?? Number.NaN) / (nginx.cpuUsPerRequest ?? Number.NaN);
    const verdict =
      throughput >= 0.7 && p99 <= 1.5
        ? 'meets both'
        : throughput >= 0.7
          ? 'meets throughput only'
          : p99 <= 1.5
            ? 'meets p99 only'
            : 'misses both';
    process.stdout.write(
      `${name.padEnd(20)} ${fmt(throughput * 100, 0).padStart(6)} %   ${fmt(p99).padStart(6)}×   ${fmt(cpu, 1).padStart(6)}×   ${verdict}\n`,
    );
  }
}

const [role, ...args] = process.argv.slice(2);
switch (role) {
  case 'upstream':
    runUpstream(Number(args[0]), Number(args[1]));
    break;
  case 'proxy':
    await runProxy(args[0] as DataPath, Number(args[1]), Number(args[2]));
    break;
  case 'loadgen':
    await runLoadgen(Number(args[0]), Number(args[1]), Number(args[2]), Number(args[3]));
    process.exit(0);
    break;
  case 'abort-soak':
    await runAbortSoak(Number(args[0]), Number(args[1]), Number(args[2]));
    process.exit(0);
    break;
  default:
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        for (const child of children) child.kill('SIGTERM');
        process.exit(130);
      });
    }
    await main();
}
