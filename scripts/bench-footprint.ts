/**
 * `npm run bench` (last): the memory Pier's processes hold, compiled
 * (scripts/build-server.ts) against run from source through tsx.
 *
 *   node --import tsx scripts/bench-footprint.ts [--requests 5000] [--api-calls 500] [--pause 10] [--proxy-processes N]
 *
 * For each form, the supervisor of `npm run up` (scripts/dist/start-all.mjs,
 * then scripts/start-all.ts through tsx) runs api, worker and proxy on a
 * private database of the test Postgres (PIER_TEST_DATABASE_URL), the test
 * Redis and local Docker, as `npm test` sets them up. Each process's RSS and
 * PSS (/proc/<pid>/smaps_rollup: PSS shares the pages node's processes have
 * in common among them, so it is what they hold together) is printed:
 *
 * 1. idle, a few seconds after all three are ready;
 * 2. after a soak: REQUESTS requests through the proxy (PIER_CONTROL_HOSTNAME
 *    routed to a small upstream in this process, 20 at a time over kept-alive
 *    connections) and API_CALLS reads of the api, within a minute;
 * 3. idle again, PAUSE seconds later.
 *
 * Every process of the tree counts: the proxy's serving processes
 * (PIER_PROXY_PROCESSES, by default one per CPU; --proxy-processes sets it)
 * and the supervisor too (systemd runs the three without one). All traffic stays on
 * loopback; the worker runs without the host firewall (it would change this
 * machine's iptables) and under a Docker label of its own. The database and
 * the directories are removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '../test/support/database.ts';
import setupTemplateDatabase from '../test/support/global-setup.ts';
import {
  exitWithin,
  freePort,
  REPO_ROOT,
  type RunningProcess,
  scriptCommand,
  signalGroup,
  spawnCollecting,
  waitForHttp,
} from '../test/support/processes.ts';
import { workerProcessEnv } from '../test/support/worker-process.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    'api-calls': { type: 'string', default: '500' },
    pause: { type: 'string', default: '10' },
    'proxy-processes': { type: 'string' },
  },
});
const REQUESTS = bounded(Number(values.requests), 100, 100_000);
const API_CALLS = bounded(Number(values['api-calls']), 10, 10_000);
const PAUSE_MS = bounded(Number(values.pause), 1, 120) * 1000;
const PROXY_PROCESSES = values['proxy-processes'] === undefined ? undefined : bounded(Number(values['proxy-processes']), 1, 64);
const SOAK_BUDGET_MS = 60_000;
const CONCURRENCY = 20;
const SETTLE_MS = 5_000;
const TARGET_MB = 250;
const CONTROL_HOST = 'pier.pier.test';

function bounded(value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`expected a whole number ${min}..${max}`);
  return value;
}

interface Sample {
  label: string;
  rssKb: number;
  pssKb: number;
}

/** The pid's descendants (children first found by their parent in /proc/<pid>/stat). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      queue.push(child);
      found.push(child);
    }
  }
  return found;
}

/** What a process of the tree is, from its command line. */
function labelOf(pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (args.some((a) => a.includes('start-all'))) return 'supervisor';
  if (args.some((a) => a.includes('edge-process'))) return 'proxy (edge)';
  const app = args.map((a) => /apps\/(api|worker|proxy)\//.exec(a)?.[1]).find(Boolean);
  return app ?? (args[0] ?? '?').split('/').pop() ?? '?';
}

function sampleTree(root: number): Sample[] {
  const samples: Sample[] = [];
  for (const pid of [root, ...descendants(root)]) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
      samples.push({ label: labelOf(pid), rssKb: kb('Rss'), pssKb: kb('Pss') });
    } catch {
      // exited meanwhile
    }
  }
  return samples.sort((a, b) => a.label.localeCompare(b.label));
}

const mb = (kb: number) => (kb / 1024).toFixed(1).padStart(6);
const sum = (samples: Sample[], key: 'rssKb' | 'pssKb', supervisor = true) =>
  samples.filter((s) => supervisor || s.label !== 'supervisor').reduce((total, s) => total + s[key], 0);

function printSamples(form: string, phase: string, samples: Sample[]): void {
  process.stdout.write(`\n${form}, ${phase}:\n`);
  for (const s of samples) process.stdout.write(`  ${s.label.padEnd(14)} RSS ${mb(s.rssKb)} MB   PSS ${mb(s.pssKb)} MB\n`);
  process.stdout.write(
    `  ${'all'.padEnd(14)} RSS ${mb(sum(samples, 'rssKb'))} MB   PSS ${mb(sum(samples, 'pssKb'))} MB` +
      `   (without the supervisor: RSS ${mb(sum(samples, 'rssKb', false))} MB, PSS ${mb(sum(samples, 'pssKb', false))} MB)\n`,
  );
}

/** REQUESTS requests through the proxy, CONCURRENCY at a time, within the budget; returns how many answered 200. */
async function soakProxy(httpPort: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const deadline = Date.now() + SOAK_BUDGET_MS;
  let sent = 0;
  let ok = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: httpPort, path: `/item/${sent}`, headers: { host: CONTROL_HOST }, agent },
        (res) => {
          if (res.statusCode === 200) ok++;
          res.resume().on('end', resolve);
        },
      );
      req.on('error', () => resolve()).end();
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < REQUESTS && Date.now() < deadline) {
        sent++;
        await one();
      }
    }),
  );
  agent.destroy();
  return ok;
}

/** API_CALLS authenticated and public reads of the api, a few at a time; returns how many answered 2xx or 404. */
async function soakApi(apiUrl: string, token: string): Promise<number> {
  const paths = ['/apps', '/health', '/ready', '/apps/no-such-app'];
  let ok = 0;
  for (let i = 0; i < API_CALLS; i += 5) {
    const batch = paths.concat(paths[0] as string).map(async (path) => {
      const res = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (res.ok || res.status === 404) ok++;
    });
    await Promise.all(batch);
  }
  return ok;
}

interface FormResult {
  start: Sample[];
  soaked: Sample[];
  rested: Sample[];
}

async function runForm(form: string, command: string[], databaseUrl: string, upstreamPort: number): Promise<FormResult> {
  const [apiPort, httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const token = randomBytes(32).toString('hex');
  const run = randomBytes(4).toString('hex');
  const dirs = ['work', 'snapshot', 'backups', 'cwd'].map((what) => mkdtempSync(join(tmpdir(), `pier-footprint-${what}-`)));
  const [workDir, snapshotDir, backupDir, cwd] = dirs as [string, string, string, string];
  const env = workerProcessEnv(
    { databaseUrl, secretKey: randomBytes(32), workDirectory: workDir },
    {
      PIER_LOG_LEVEL: 'info',
      PIER_API_PORT: String(apiPort),
      PIER_ADMIN_TOKEN: token,
      PIER_BACKUP_DIR: backupDir,
      PIER_QUEUE_PREFIX: `pier-footprint-${run}`,
      PIER_INSTANCE: `footprint-${run}`,
      PIER_HOST_FIREWALL: 'false',
      PIER_HTTP_PORT: String(httpPort),
      PIER_HTTPS_PORT: String(httpsPort),
      PIER_PROXY_ADMIN_PORT: String(adminPort),
      PIER_PROXY_SNAPSHOT: join(snapshotDir, 'routes.json'),
      PIER_CONTROL_HOSTNAME: CONTROL_HOST,
      PIER_CONTROL_UPSTREAM: `127.0.0.1:${upstreamPort}`,
      ...(PROXY_PROCESSES ? { PIER_PROXY_PROCESSES: String(PROXY_PROCESSES) } : {}),
    },
  );
  const supervisor: RunningProcess = spawnCollecting(command, { cwd, env });
  const pid = supervisor.child.pid as number;
  try {
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await Promise.all([
      waitForHttp(`${apiUrl}/ready`, 200, 60_000),
      waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 60_000),
      waitFor(() => supervisor.output().includes('"msg":"worker started"'), 60_000, 'the worker to start'),
    ]).catch((err: Error) => {
      throw new Error(`${err.message}\n${supervisor.output().slice(-4000)}`);
    });
    await sleep(SETTLE_MS);
    const start = sampleTree(pid);
    printSamples(form, `idle ${SETTLE_MS / 1000} s after start`, start);

    const began = Date.now();
    const [proxied, apiOk] = await Promise.all([soakProxy(httpPort), soakApi(apiUrl, token)]);
    const took = ((Date.now() - began) / 1000).toFixed(1);
    if (proxied < REQUESTS * 0.99) throw new Error(`only ${proxied} of ${REQUESTS} proxied requests answered 200`);
    const soaked = sampleTree(pid);
    printSamples(form, `right after ${proxied} proxied requests and ${apiOk} API calls (${took} s)`, soaked);

    await sleep(PAUSE_MS);
    const rested = sampleTree(pid);
    printSamples(form, `idle ${PAUSE_MS / 1000} s after the soak`, rested);
    return { start, soaked, rested };
  } finally {
    signalGroup(supervisor, 'SIGINT');
    await exitWithin(supervisor, 45_000).catch(() => signalGroup(supervisor, 'SIGKILL'));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ratioLine(phase: string, compiled: Sample[], tsx: Sample[]): string {
  const [c, t] = [sum(compiled, 'pssKb'), sum(tsx, 'pssKb')];
  const [cr, tr] = [sum(compiled, 'rssKb'), sum(tsx, 'rssKb')];
  return `  ${phase.padEnd(20)} PSS ${mb(c)} / ${mb(t)} MB = ${(c / t).toFixed(2)}   RSS ${mb(cr)} / ${mb(tr)} MB = ${(cr / tr).toFixed(2)}\n`;
}

const build = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/build-server.ts')], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('the build failed');

await setupTemplateDatabase();
const database = await createTestDatabase();
const upstream = createServer((_req, res) => res.end('ok from the upstream\n'));
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamPort = (upstream.address() as AddressInfo).port;
try {
  const serving = PROXY_PROCESSES ?? 'the default number of';
  process.stdout.write(`footprint: ${REQUESTS} proxied requests, ${API_CALLS} API calls, ${serving} proxy processes\n`);
  const compiled = await runForm(
    'compiled',
    [process.execPath, join(REPO_ROOT, 'scripts/dist/start-all.mjs')],
    database.url,
    upstreamPort,
  );
  const tsx = await runForm('tsx', scriptCommand('scripts/start-all.ts'), database.url, upstreamPort);

  process.stdout.write('\ncompiled / tsx, every process of the tree (supervisor included):\n');
  process.stdout.write(ratioLine('idle after start', compiled.start, tsx.start));
  process.stdout.write(ratioLine('after the soak', compiled.soaked, tsx.soaked));
  process.stdout.write(ratioLine('idle after the soak', compiled.rested, tsx.rested));
  const worst = Math.max(...[compiled.start, compiled.rested].map((s) => sum(s, 'pssKb')));
  const verdict = worst / 1024 < TARGET_MB ? 'under' : 'OVER';
  process.stdout.write(
    `\ncompiled, idle: ${mb(worst)} MB PSS at most, ${verdict} the ${TARGET_MB} MB target ` +
      `(RSS counts node's shared pages once per process: ${mb(Math.max(sum(compiled.start, 'rssKb'), sum(compiled.rested, 'rssKb')))} MB)\n`,
  );
} finally {
  upstream.closeAllConnections();
  upstream.close();
  await database.destroy();
}
