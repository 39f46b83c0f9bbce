/**
 * Runs api, worker and proxy in the foreground as child processes (`npm run
 * up`, `npm start`). One that exits on its own is started again with backoff
 * (1 s doubling to 30 s, reset after a quiet minute) while the others keep
 * running: the proxy keeps serving every app through a crash of the control
 * plane. Ctrl-C (or SIGTERM) is passed to all three and waited for.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processEnvironment } from './supervisor/process-env.ts';
import { RESTART_BACKOFF } from './supervisor/restart-plan.ts';
import { Supervisor } from './supervisor/supervisor.ts';

const PROCESSES = ['api', 'worker', 'proxy'] as const;
const TSX_LOADER = import.meta.resolve('tsx');
const entry = (name: string) => fileURLToPath(new URL(`../apps/${name}/src/main.ts`, import.meta.url));
// Above each process's own drain time (the api's and worker's 30 s), like systemd's TimeoutStopSec.
const STOP_TIMEOUT_MS = 35_000;

// Read here, so that each process gets only its share of it (the proxy no PIER_SECRET_KEY).
if (existsSync('.env')) process.loadEnvFile('.env');

const supervisor = new Supervisor({
  processes: PROCESSES.map((name) => ({
    name,
    command: process.execPath,
    args: ['--import', TSX_LOADER, entry(name)],
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
