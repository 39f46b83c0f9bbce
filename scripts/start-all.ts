/**
 * Runs api, worker and proxy in the foreground as child processes (`npm run
 * up`, `npm start`). One that exits on its own is started again with backoff
 * (1 s doubling to 30 s, reset after a quiet minute) while the others keep
 * running: the proxy keeps serving every app through a crash of the control
 * plane. Ctrl-C (or SIGTERM) is passed to all three and waited for.
 *
 * Compiled (npm run build), it is a 6 KiB module: node's own floor, about
 * 40 MB RSS of which some 9 MB PSS (the rest is node's pages, shared with the
 * processes); V8 flags were measured to take nothing off that, so it has none.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processEnvironment } from './supervisor/process-env.ts';
import { RESTART_BACKOFF } from './supervisor/restart-plan.ts';
import { Supervisor } from './supervisor/supervisor.ts';

const PROCESSES = ['api', 'worker', 'proxy'] as const;
/**
 * V8's flags per process, as the systemd units (deploy/systemd) give them: the
 * control plane's young generation is capped at 2 MiB a half and V8 favours
 * size over speed there (about 20-30 MB less each at idle, some 10 % more CPU
 * per API request); the proxy, which serves every app, keeps V8's defaults.
 */
const NODE_FLAGS: Record<(typeof PROCESSES)[number], string[]> = {
  api: ['--max-semi-space-size=2', '--optimize-for-size'],
  worker: ['--max-semi-space-size=2', '--optimize-for-size'],
  proxy: [],
};
/**
 * Compiled (scripts/dist/start-all.mjs, from scripts/build-server.ts) it runs
 * the processes' bundles with plain node; run from source (as tests do) it
 * runs their TypeScript through tsx.
 */
const COMPILED = import.meta.url.endsWith('.mjs');

function nodeArgs(name: (typeof PROCESSES)[number]): string[] {
  if (!COMPILED)
    return ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL(`../apps/${name}/src/main.ts`, import.meta.url))];
  const bundle = fileURLToPath(new URL(`../../apps/${name}/dist/main.mjs`, import.meta.url));
  if (!existsSync(bundle)) {
    process.stderr.write(`pier: ${bundle} is missing: build the processes with npm run build (npm run up and npm start do)\n`);
    process.exit(1);
  }
  return [...NODE_FLAGS[name], bundle];
}

// Above each process's own drain time (the api's and worker's 30 s), like systemd's TimeoutStopSec.
const STOP_TIMEOUT_MS = 35_000;

// Read here, so that each process gets only its share of it (the proxy no PIER_SECRET_KEY).
if (existsSync('.env')) process.loadEnvFile('.env');

const supervisor = new Supervisor({
  processes: PROCESSES.map((name) => ({
    name,
    command: process.execPath,
    args: nodeArgs(name),
    env: processEnvironment(name, process.env),
  })),
  backoff: RESTART_BACKOFF,
  stopTimeoutMs: STOP_TIMEOUT_MS,
  log: (line) => process.stderr.write(`${line}\n`),
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A terminal's Ctrl-C also reached every child (same process group); the
    // children ignore the forwarded copy, so a signal sent here alone works too.
    void supervisor.stop(signal);
  });
}

supervisor.start();
process.exit(await supervisor.done);
