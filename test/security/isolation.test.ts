import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_APP } from '@pier/core';
import { DockerRuntime, hostFirewallPlan, IptablesFirewall } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { buildLog, pushCommit, removeAppObjects } from '../builds/build-harness.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, getText, servingPorts, waitForDeployment } from '../support/deploy-app.ts';
import { exitWithin, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';
import { workerProcessEnv } from '../support/worker-process.ts';

/**
 * Untrusted code cannot reach the host's services or cloud metadata: the real
 * worker process (which installs the host firewall at start) builds an app
 * whose RUN step, and then whose running replica, try to connect to a listener
 * of this process on 0.0.0.0 (through the bridge gateway, the host's own
 * address and a link-local address of the host), to one on 127.0.0.1 (as the
 * proxy's admin port is), to a link-local "metadata" address routed through
 * the host into a network namespace this test makes, and to a container on
 * another network of the pool. None connects; a listener in the prober's own
 * container does (the probe works), and the replica's published port still
 * answers (replies to the host's connections pass).
 */

const run = randomBytes(3).toString('hex');
const appName = `iso-${run}`;
const fullName = `acme/${appName}`;
const secretKey = randomBytes(32);
// A pool of this test's own (8 /24s of 10.219.0.0/16), so its rules and networks touch no other test's.
const pool = { cidr: `10.219.${randomInt(0, 32) * 8}.0/21`, size: 24 };
const linkLocal = `169.254.${randomInt(100, 250)}`;
const namespace = `pier-md-${run}`;
const veth = { host: `pmd${run}h`, inside: `pmd${run}n` };
const docker = new DockerRuntime({ networkPool: pool });
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-iso-work-'));
const backupDirectory = mkdtempSync(join(tmpdir(), 'pier-iso-backups-'));
const otherApp = `iso-other-${run}`;
const otherNetwork = `pier-${otherApp}-production`;

let api: TestApi;
let repo: TestGitRepository;
let worker: RunningProcess | undefined;
let metadata: ChildProcess | undefined;
const listeners: Server[] = [];
/** Connections the host listeners accepted: from containers there must be none. */
let accepted = 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

async function listen(host: string): Promise<number> {
  const server = createServer((socket) => {
    accepted++;
    socket.on('error', () => {}).end('host service\n');
  });
  listeners.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
}

/** A listener at `${linkLocal}.2:80`, in a namespace reached from the host by a veth pair: forwarded, like a cloud's metadata. */
async function startMetadataService(): Promise<void> {
  ip('netns', 'add', namespace);
  ip('link', 'add', veth.host, 'type', 'veth', 'peer', 'name', veth.inside);
  ip('link', 'set', veth.inside, 'netns', namespace);
  ip('addr', 'add', `${linkLocal}.1/30`, 'dev', veth.host);
  ip('link', 'set', veth.host, 'up');
  ip('-n', namespace, 'addr', 'add', `${linkLocal}.2/30`, 'dev', veth.inside);
  ip('-n', namespace, 'link', 'set', veth.inside, 'up');
  const script = `require('net').createServer((s) => s.on('error', () => {}).end('metadata\\n')).listen(80, '${linkLocal}.2', () => console.log('ready'))`;
  metadata = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    metadata?.stdout?.once('data', () => resolve());
    metadata?.once('exit', (code) => reject(new Error(`the metadata listener exited (${code})`)));
  });
  // The namespace answers the host: the rules, not a broken setup, are what stops containers.
  await expect(connectFromHost(`${linkLocal}.2`, 80)).resolves.toBe('connected');
}

function connectFromHost(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, 2000);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? 'error');
    });
  });
}

/** An address of this host on a real interface (not Docker's bridges, not this test's veth). */
function hostAddress(): string | undefined {
  return Object.entries(networkInterfaces())
    .filter(([name]) => !/^(lo|docker|br-|veth|pmd)/.test(name))
    .flatMap(([, addresses]) => addresses ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal)?.address;
}

/** Connects to each target (2 s each, all at once) and to a listener in its own container; reports NET_RAW. */
const PROBE = `
const fs = require('fs'); const net = require('net'); const os = require('os');
function gateway() {
  for (const line of fs.readFileSync('/proc/net/route', 'utf8').trim().split('\\n').slice(1)) {
    const f = line.trim().split(/\\s+/);
    if (f[1] === '00000000') return [3, 2, 1, 0].map((i) => parseInt(f[2].substr(i * 2, 2), 16)).join('.');
  }
}
function attempt(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => { s.destroy(); resolve('timeout'); }, 2000);
    s.on('connect', () => { clearTimeout(t); s.destroy(); resolve('connected'); });
    s.on('error', (e) => { clearTimeout(t); resolve(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)); });
  });
}
module.exports = async function probe() {
  const targets = JSON.parse(fs.readFileSync(__dirname + '/targets.json', 'utf8'));
  const own = Object.values(os.networkInterfaces()).flat().find((a) => a.family === 'IPv4' && !a.internal).address;
  const self = net.createServer((s) => s.on('error', () => {}).end()).listen(0, '0.0.0.0');
  await new Promise((r) => self.once('listening', r));
  targets.self = [own, self.address().port];
  const names = Object.keys(targets);
  const outcomes = await Promise.all(names.map((n) => attempt(targets[n][0] === 'gateway' ? gateway() : targets[n][0], targets[n][1])));
  self.close();
  const capEff = BigInt('0x' + /CapEff:\\s*(\\w+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
  return { ...Object.fromEntries(names.map((n, i) => [n, outcomes[i]])), netRaw: (capEff >> 13n) & 1n ? 'kept' : 'dropped' };
};
if (require.main === module) module.exports().then((r) => console.log('PROBE ' + JSON.stringify(r)));
`;

const SERVER = `
const http = require('http');
let results = null;
require('./probe.js')().then((r) => { results = r; });
http.createServer((req, res) => res.end(req.url === '/health' ? 'ok' : JSON.stringify(results))).listen(process.env.PORT);
`;

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  repo = new TestGitRepository();
  await startMetadataService();
}, 60_000);

afterAll(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
    signalGroup(worker, 'SIGTERM');
    await exitWithin(worker, 20_000).catch(() => {
      signalGroup(worker as RunningProcess, 'SIGKILL');
      return worker?.exited;
    });
  }
  metadata?.kill('SIGKILL');
  for (const server of listeners) server.close();
  await removeAppObjects(docker, [appName, otherApp]);
  await docker.removeNetwork(otherNetwork).catch(() => {});
  for (const args of [
    ['link', 'del', veth.host],
    ['netns', 'del', namespace],
  ]) {
    try {
      ip(...args);
    } catch {
      // Already gone.
    }
  }
  await new IptablesFirewall().removeSources(hostFirewallPlan({ sources: [pool.cidr] }));
  await api?.close();
  repo?.remove();
  rmSync(workDirectory, { recursive: true, force: true });
  rmSync(backupDirectory, { recursive: true, force: true });
}, 60_000);

/** The real worker entry point as its own process group, configured as an operator would (host firewall on by default). */
async function startWorkerProcess(): Promise<RunningProcess> {
  const proc = startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: api.database.url, secretKey, workDirectory },
      {
        PIER_BACKUP_DIR: backupDirectory,
        PIER_QUEUE_PREFIX: `pier-iso-${run}`,
        PIER_INSTANCE: `pier-iso-${run}`,
        PIER_NETWORK_POOL: pool.cidr,
        PIER_NETWORK_SUBNET_SIZE: String(pool.size),
      },
    ),
  );
  const deadline = Date.now() + 60_000;
  while (!proc.output().includes('"msg":"worker started"')) {
    if (proc.child.exitCode !== null) throw new Error(`the worker exited:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`the worker did not start:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return proc;
}

/** A container of another app on another network of the pool, answering on 8080: its address and published port. */
async function startOtherEnvironment(): Promise<{ address: string; hostPort: number }> {
  const labels = { [LABEL_APP]: otherApp, 'pier.test': '1' };
  await docker.ensureNetwork(otherNetwork, labels);
  const info = await docker.runContainer({
    name: `${otherApp}-web`,
    image: LOCAL_IMAGES.node,
    env: {},
    labels,
    containerPort: 8080,
    networks: [otherNetwork],
    limits: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 },
    command: ['node', '-e', "require('http').createServer((q, s) => s.end('other')).listen(8080)"],
  });
  const address = info.networks[otherNetwork];
  if (!address || !info.hostPort) throw new Error(`the other container has no address: ${JSON.stringify(info)}`);
  await expect.poll(() => getText(info.hostPort as number).catch(() => ''), { timeout: 15_000 }).toBe('other');
  return { address, hostPort: info.hostPort };
}

const BLOCKED = ['hostAny', 'hostAddress', 'hostLinkLocal', 'adminPort', 'metadata', 'otherEnvironment'];

function expectIsolated(results: Record<string, string>): void {
  expect(results.self, 'the probe reaches a listener in its own container').toBe('connected');
  for (const name of BLOCKED) expect(results[name], name).not.toBe('connected');
  // Dropped, not refused: nothing on the host even answered.
  for (const name of ['hostAny', 'hostAddress', 'metadata']) expect(results[name], name).toBe('timeout');
}

describe('isolation of untrusted code', () => {
  it('neither a build step nor a replica reaches the host, its loopback-only ports, link-local addresses or another environment', async () => {
    worker = await startWorkerProcess();
    expect(await new IptablesFirewall().missing(hostFirewallPlan({ sources: [pool.cidr] }))).toEqual([]);

    const hostPort = await listen('0.0.0.0');
    const adminPort = await listen('127.0.0.1');
    const other = await startOtherEnvironment();
    const address = hostAddress();
    const targets = {
      hostAny: ['gateway', hostPort],
      hostAddress: [address ?? 'gateway', hostPort],
      hostLinkLocal: [`${linkLocal}.1`, hostPort],
      adminPort: ['gateway', adminPort],
      metadata: [`${linkLocal}.2`, 80],
      otherEnvironment: [other.address, 8080],
    };
    const sha = repo.commit({
      Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY . .\nRUN node probe.js\nCMD ["node", "server.js"]\n',
      'probe.js': PROBE,
      'server.js': SERVER,
      'targets.json': JSON.stringify(targets),
    });
    repo.push();
    const secret = await createFastApp(api, { name: appName, fullName, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 1000 });
    const deploymentId = await pushCommit(api, fullName, secret, sha);
    const deployment = await waitForDeployment(api, deploymentId, ['live', 'failed'], 240_000);
    const log = await buildLog(api, deploymentId);
    expect(deployment.state, `${deployment.reason}\n${log}\n${worker.output().slice(-3000)}`).toBe('live');

    const built = /^PROBE (.*)$/m.exec(log)?.[1];
    expect(built, log).toBeDefined();
    expectIsolated(JSON.parse(built as string));

    const [port] = await servingPorts(api, appName, 'staging');
    let replica: Record<string, string> | null = null;
    const deadline = Date.now() + 30_000;
    while (!replica && Date.now() < deadline) {
      replica = JSON.parse(await getText(port as number));
      if (!replica) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(replica, 'the replica reported its probe').not.toBeNull();
    expectIsolated(replica as Record<string, string>);
    expect(replica?.netRaw).toBe('dropped');
    expect(accepted, 'connections the host listeners accepted').toBe(0);
    // The metadata listener was there all along.
    expect(await connectFromHost(`${linkLocal}.2`, 80)).toBe('connected');
    // The host still reaches published ports (the replica's answered above) and other environments.
    expect(await getText(other.hostPort)).toBe('other');
  }, 300_000);
});
