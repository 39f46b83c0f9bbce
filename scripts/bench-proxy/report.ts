/** The throughput part of the bench's output: every target, then each proxy against nginx and Pier against Caddy. */
import { fmt, type LoadResult, type Measured, type Target } from './shared.ts';

const cpu = (r: LoadResult) => r.cpuUsPerRequest ?? Number.NaN;

export function printTargets(measured: Measured[]): void {
  const header = ['target'.padEnd(24), 'req/s', '  p50 ms', '  p99 ms', ' errors', ' CPU µs/req'];
  process.stdout.write(`\n${header.join(' ')}\n`);
  for (const { target, result: r } of measured) {
    const row = [
      target.name.padEnd(24),
      fmt(r.rps, 0).padStart(5),
      fmt(r.p50ms).padStart(8),
      fmt(r.p99ms).padStart(8),
      String(r.errors).padStart(7),
      fmt(cpu(r), 0).padStart(11),
    ];
    process.stdout.write(`${row.join(' ')}\n`);
  }
  process.stdout.write(
    '(CPU µs/req: the measured process tree only, every process and thread: the upstream for "direct", else the proxy)\n',
  );
}

/**
 * Per process count: each proxy's throughput, p99 and CPU per request as a
 * ratio to nginx's with as many workers, then whether Pier meets its target
 * against Caddy with as many GOMAXPROCS (throughput ≥ Caddy's, p99 ≤ Caddy's)
 * and how far it is from nginx.
 */
export function printComparison(measured: Measured[], processCounts: number[]): void {
  for (const n of processCounts) {
    const at = measured.filter(({ target }) => target.processes === n);
    const of = (kind: Target['kind']) => at.find(({ target }) => target.kind === kind)?.result;
    const nginx = of('nginx');
    if (!nginx) continue;
    process.stdout.write(
      `\nat ${n} process${n === 1 ? '' : 'es'} (workers, threads, GOMAXPROCS)   ÷ nginx:   req/s     p99   CPU/req\n`,
    );
    for (const { target, result: r } of at.filter(({ target }) => target.kind !== 'nginx')) {
      process.stdout.write(
        `  ${target.name.padEnd(40)} ${fmt((r.rps / nginx.rps) * 100, 0).padStart(8)} % ${fmt(r.p99ms / nginx.p99ms).padStart(6)}× ${fmt(cpu(r) / cpu(nginx), 1).padStart(7)}×\n`,
      );
    }
    const pier = of('pier');
    const caddy = of('caddy');
    if (!pier || !caddy) continue;
    const throughput = pier.rps >= caddy.rps;
    const p99 = pier.p99ms <= caddy.p99ms;
    process.stdout.write(
      `  pier vs caddy: throughput ${fmt((pier.rps / caddy.rps) * 100, 0)} % of caddy's (${throughput ? 'meets' : 'misses'} ≥ 100 %), ` +
        `p99 ${fmt(pier.p99ms / caddy.p99ms)}× caddy's (${p99 ? 'meets' : 'misses'} ≤ 1×): ${throughput && p99 ? 'meets' : 'misses'}\n` +
        `  gap to nginx: pier at ${fmt((pier.rps / nginx.rps) * 100, 0)} % of its throughput, p99 ${fmt(pier.p99ms)} ms against ${fmt(nginx.p99ms)} ms, ` +
        `CPU ${fmt(cpu(pier), 0)} µs per request against ${fmt(cpu(nginx), 0)} µs\n`,
    );
  }
}
