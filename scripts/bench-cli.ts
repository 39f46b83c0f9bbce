// `npm run bench:cli`: what the `pier` file costs a user. Prints the bundle's
// size (raw and gzip, as /cli sends it uncompressed and a proxy may compress
// it) and the start time of `pier --version` and `pier --help`, as medians of
// interleaved rounds and as ratios to a bare `node -e ''` measured in the same
// run (the machine is shared: absolute times mean little), plus the same CLI
// run from source through the TypeScript loader, for comparison.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROUNDS = 15;
const root = fileURLToPath(new URL('../', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'pier-bench-cli-'));
const bundle = join(folder, 'pier');
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/build-cli.ts'), bundle], { cwd: root, stdio: 'ignore' });

const loader = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const cases: Record<string, string[]> = {
  'node -e "" (baseline)': ['-e', ''],
  'pier --version': [bundle, '--version'],
  'pier --help': [bundle, '--help'],
  'pier --version from source (tsx)': ['--import', loader, join(root, 'apps/cli/src/main.ts'), '--version'],
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, in an order that turns each round, so drift on the machine hits every case alike.
  const names = Object.keys(cases);
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length] as string;
    const started = process.hrtime.bigint();
    const run = spawnSync(process.execPath, cases[name] as string[], { stdio: 'ignore', env: { PATH: process.env.PATH } });
    if (run.status !== 0) throw new Error(`${name} exited ${run.status}`);
    times[name]?.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const baseline = median(times['node -e "" (baseline)'] as number[]);
const bytes = readFileSync(bundle);
console.log(`bundle: ${(bytes.length / 1024).toFixed(1)} KiB, ${(gzipSync(bytes).length / 1024).toFixed(1)} KiB gzip`);
console.log(`start time, median of ${ROUNDS} interleaved rounds:`);
for (const [name, values] of Object.entries(times)) {
  const ms = median(values);
  console.log(`  ${name.padEnd(36)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / baseline).toFixed(2)}× baseline`);
}
rmSync(folder, { recursive: true, force: true });
