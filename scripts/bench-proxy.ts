/**
 * `npm run bench`: Pier's edge proxy against nginx, HAProxy and Caddy, on this
 * machine, in one run, against the same upstream (a node:cluster HTTP server
 * on 127.0.0.1).
 *
 * Every proxy is measured with one process and with one per core: Pier's
 * proxy as production runs it (`runProxy` of apps/proxy, PIER_PROXY_PROCESSES
 * = N), nginx with `worker_processes N`, HAProxy with `nbthread N` and Caddy
 * with GOMAXPROCS=N (Debian's packages, reverse proxies with keep-alive to the
 * upstream: native-proxies.ts), and the upstream direct. Targets run in
 * interleaved rounds; printed are the medians of requests/s, p50/p99 latency
 * and CPU µs per request (the target's whole process tree, from /proc), the
 * ratios to nginx at the same N, and Pier against its target: throughput ≥
 * Caddy's and p99 ≤ Caddy's at every N. Then the requests failed while the
 * route is switched to another upstream under load (target 0), the proxy's
 * RSS and open fds around a soak of requests the client aborts (flat = no
 * leak), the edge's CDN figures (cdn.ts: share of a static asset's requests
 * served from its cache, bytes saved by compression). `--all` adds Pier on
 * http-proxy and the "node floor" (a bare node:http + undici pass-through),
 * one process each, and what metrics collection costs (metrics-cost.ts);
 * without them the run takes about 5½ minutes. `--cdn-only` and
 * `--metrics-only` run just that part.
 *
 * nginx, HAProxy, Caddy and wrk are installed from Debian's packages when
 * missing (bench-proxy/install-proxies.sh, as root). Load comes from `wrk -t1`
 * (else a small keep-alive generator in its own process). Loopback only;
 * every child is ended by its PID. Not part of `npm test`.
 *
 *   npm run bench [-- --duration 8 --rounds 3 --connections 64 --soak 5000 --upstream-workers 2
 *                    --processes 1,2 --cdn-requests 20 --all --cdn-only --metrics-only]
 */

import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureCdn } from './bench-proxy/cdn.ts';
import { runAbortSoak, runFloor, runLoadgen, runMetricsProxy, runUpstream } from './bench-proxy/child-roles.ts';
import { hasWrk, measureRounds, processTree } from './bench-proxy/measure.ts';
import { measureMetricsCost } from './bench-proxy/metrics-cost.ts';
import { NATIVE_PROXIES, type NativeProxyName, nativeVersions, startNativeProxy } from './bench-proxy/native-proxies.ts';
import { runPierProxy } from './bench-proxy/pier-role.ts';
import { children, get, startFloor, startPier, startUpstream, stopChild } from './bench-proxy/processes.ts';
import { printComparison, printTargets } from './bench-proxy/report.ts';
import { measureResilience } from './bench-proxy/resilience.ts';
import { type DataPath, FORWARDING_HEADERS, fmt, HEADERS_PATH, type Settings, type Target } from './bench-proxy/shared.ts';

/** Installs nginx, HAProxy, Caddy and wrk from Debian's packages when missing; does nothing otherwise. */
const INSTALL = fileURLToPath(new URL('./bench-proxy/install-proxies.sh', import.meta.url));

/** How each native proxy calls its N. */
const UNIT: Record<NativeProxyName, (n: number) => string> = {
  nginx: (n) => `${n} worker${n === 1 ? '' : 's'}`,
  haproxy: (n) => `${n} thread${n === 1 ? '' : 's'}`,
  caddy: (n) => `GOMAXPROCS ${n}`,
};

function parseSettings(argv: string[]): Settings {
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const flag = (name: string, fallback: number) => {
    const n = Number(value(name));
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  const cores = Math.max(1, availableParallelism());
  const counts = (value('processes') ?? `1,${cores}`).split(',').map(Number);
  return {
    durationS: flag('duration', 8),
    rounds: flag('rounds', 3),
    connections: flag('connections', 64),
    soak: flag('soak', 5_000),
    upstreamWorkers: flag('upstream-workers', cores),
    processCounts: [...new Set(counts.filter((n) => Number.isInteger(n) && n > 0))],
    all: argv.includes('--all'),
    cdnRequests: flag('cdn-requests', 20),
  };
}

/** Everything measured at one process count N: Pier and each native proxy, started and ready. */
async function startTargets(n: number, upstreamPort: number) {
  const pier = await startPier('undici', upstreamPort, n);
  const natives = await Promise.all(NATIVE_PROXIES.map((name) => startNativeProxy(name, upstreamPort, n)));
  const targets: Target[] = [
    { name: `pier (${n} process${n === 1 ? '' : 'es'})`, port: pier.port, pid: pier.child.pid ?? 0, kind: 'pier', processes: n },
    ...NATIVE_PROXIES.map((name, i) => ({
      name: `${name} (${UNIT[name](n)})`,
      port: natives[i]?.port ?? 0,
      pid: natives[i]?.child.pid ?? 0,
      kind: name,
      processes: n,
    })),
  ];
  return { targets, stop: () => Promise.all([pier.stop(), ...natives.map((native) => native.stop())]) };
}

/** Pier on http-proxy and the node floor, one process each (`--all`). */
async function startExtras(upstreamPort: number) {
  const pier = await startPier('http-proxy', upstreamPort, 1);
  const floor = await startFloor(upstreamPort);
  const targets: Target[] = [
    { name: 'pier http-proxy (1 process)', port: pier.port, pid: pier.child.pid ?? 0, kind: 'pier-http-proxy', processes: 1 },
    { name: 'node floor (1 process)', port: floor.port, pid: floor.child.pid ?? 0, kind: 'floor', processes: 1 },
  ];
  return { targets, stop: () => Promise.all([pier.stop(), stopChild(floor.child)]) };
}

/**
 * Before measuring: the forwarding headers each proxy hands the upstream (the
 * same work for all, or said), and how many processes Pier's tree really has
 * (PIER_PROXY_PROCESSES=N starts N workers besides the primary).
 */
async function checkTargets(targets: Target[]): Promise<void> {
  for (const target of targets.filter(({ kind }) => kind && kind !== 'upstream')) {
    const answer = await get(target.port, HEADERS_PATH);
    const received = JSON.parse(answer.body) as Record<string, string | null>;
    const missing = FORWARDING_HEADERS.filter((name) => !received[name]);
    if (missing.length > 0) process.stdout.write(`  note: ${target.name} does not send ${missing.join(', ')}\n`);
    const processes = processTree(target.pid).length;
    if (target.kind === 'pier' && (target.processes ?? 1) > 1 && processes < (target.processes ?? 1) + 1) {
      process.stdout.write(`  note: ${target.name}: ${processes} process(es) serve (this build ignores PIER_PROXY_PROCESSES)\n`);
    }
  }
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  execFileSync('bash', [INSTALL], { stdio: 'inherit' }); // installs whichever of them is missing
  const generator = hasWrk() ? 'wrk -t1' : 'node keep-alive generator (wrk not installed)';
  process.stdout.write(
    `pier proxy bench: ${availableParallelism()} CPUs, node ${process.version}, load: ${generator}, ${settings.connections} connections, ` +
      `${settings.durationS} s per target and round, ${settings.rounds} rounds (medians); upstream: node:cluster × ${settings.upstreamWorkers}; ` +
      `proxies at ${settings.processCounts.join(' and ')} process(es); load avg ${loadavg()
        .map((n) => fmt(n, 1))
        .join(' ')}\n  ${nativeVersions()}\n`,
  );
  if (process.argv.includes('--cdn-only')) return await measureCdn(settings);
  const upstream = await startUpstream(settings.upstreamWorkers);
  try {
    if (process.argv.includes('--metrics-only')) return await measureMetricsCost(upstream.port, settings);
    const groups = [];
    for (const n of settings.processCounts) groups.push(await startTargets(n, upstream.port));
    if (settings.all) groups.push(await startExtras(upstream.port));
    const targets: Target[] = [
      { name: 'upstream direct', port: upstream.port, pid: upstream.child.pid ?? 0, kind: 'upstream' },
      ...groups.flatMap((group) => group.targets),
    ];
    await checkTargets(targets);
    const measured = await measureRounds(targets, settings);
    await Promise.all(groups.map((group) => group.stop()));
    printTargets(measured);
    printComparison(measured, settings.processCounts);

    const dataPaths: DataPath[] = settings.all ? ['undici', 'http-proxy'] : ['undici'];
    await measureResilience(dataPaths, upstream.port, settings);
    await measureCdn(settings);
    if (settings.all) await measureMetricsCost(upstream.port, settings);
  } finally {
    await stopChild(upstream.child);
    await Promise.all([...children].map((child) => stopChild(child)));
  }
}

const [role, ...args] = process.argv.slice(2);
// A child whose bench is gone (killed, crashed) ends too, rather than hold its port.
if (role) process.once('disconnect', () => process.exit(0));
switch (role) {
  case 'upstream':
    runUpstream(Number(args[0]), Number(args[1]));
    break;
  case 'pier':
    await runPierProxy(JSON.parse(args[0] ?? '{}'));
    break;
  case 'metrics-proxy':
    await runMetricsProxy(Number(args[0]), Number(args[1]), JSON.parse(args[2] ?? '{}'));
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
