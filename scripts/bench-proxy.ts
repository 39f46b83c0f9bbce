/**
 * `npm run bench`: Pier's edge proxy against nginx, on this machine, in one run,
 * against the same upstream (a node:cluster HTTP server on 127.0.0.1).
 *
 * Prints requests/s and p50/p99 latency for: the upstream direct, Pier's proxy
 * on each data path (undici, http-proxy) and nginx (Debian package, upstream
 * keepalive, as many worker processes as Pier's proxy has: 1), with the ratios
 * Pier/nginx against the targets (≥ 70 % throughput, p99 ≤ 1.5×); also the
 * "node floor", a bare node:http + undici pass-through without any of Pier's
 * logic, to show how much of the gap is Node's own HTTP stack. Then the
 * requests failed while the route is switched to another upstream under load
 * (a rolling deploy, target 0), the proxy's RSS and open fds around a soak
 * of requests the client aborts (flat = no leak), and what metrics collection
 * costs: the same proxy counting nothing and counting every request into
 * request_metrics in Postgres (flushed every second), interleaved, as a ratio
 * (target ≥ 97 % of the throughput; `--metrics-only` runs just that part).
 *
 * Load comes from `wrk` (Debian package) when installed, else from a small
 * keep-alive load generator in its own process. Loopback only; every child is
 * ended by its PID. Not part of `npm test`.
 *
 *   npm run bench [-- --duration 8 --rounds 3 --connections 64 --soak 5000 --upstream-workers 2 --metrics-only]
 */

import { rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { runAbortSoak, runFloor, runLoadgen, runProxy, runUpstream } from './bench-proxy/child-roles.ts';
import { hasWrk, load, measureRounds } from './bench-proxy/measure.ts';
import { measureMetricsCost } from './bench-proxy/metrics-cost.ts';
import { children, startChild, startFloor, startNginx, startPier, startUpstream, stopChild } from './bench-proxy/processes.ts';
import { DATA_PATHS, type DataPath, fmt, type LoadResult, type Settings, type Target } from './bench-proxy/shared.ts';

/** Switches the route to a second upstream mid-load, then drains and stops the first: failures must be 0. */
/** The bare node:http + undici pass-through, measured as a target of its own. */
const FLOOR = 'node floor';

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
    if (process.argv.includes('--metrics-only')) return await measureMetricsCost(upstream.port, settings);
    const piers = await Promise.all(DATA_PATHS.map((dataPath) => startPier(dataPath, upstream.port)));
    const floor = await startFloor(upstream.port);
    const nginx = await startNginx(upstream.port, 1);
    const targets: Target[] = [
      { name: 'upstream direct', port: upstream.port, pid: upstream.child.pid ?? 0 },
      ...DATA_PATHS.map((dataPath, i) => ({
        name: `pier (${dataPath})`,
        port: piers[i]?.port ?? 0,
        pid: piers[i]?.child.pid ?? 0,
      })),
      { name: FLOOR, port: floor.port, pid: floor.child.pid ?? 0 },
      { name: 'nginx (1 worker)', port: nginx.port, pid: nginx.child.pid ?? 0 },
    ];
    const results = await measureRounds(targets, settings);
    await Promise.all([...piers.map((pier) => stopChild(pier.child)), stopChild(floor.child), stopChild(nginx.child, 'SIGQUIT')]);
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
    await measureMetricsCost(upstream.port, settings);
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
  for (const [name, r] of results.filter(([n]) => n.startsWith('pier') || n === FLOOR)) {
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
    await runProxy(args[0] as DataPath, Number(args[1]), Number(args[2]), args[3] ? JSON.parse(args[3]) : undefined);
    break;
  case 'floor':
    runFloor(Number(args[0]), Number(args[1]));
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
