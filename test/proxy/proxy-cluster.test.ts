import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import { getViaProxy, snapshotProxyEnv } from '../support/proxy.ts';

/**
 * The proxy with several serving processes (`PIER_PROXY_PROCESSES`): the
 * first process keeps the routes and health checks, the others serve the
 * shared ports. One of them is killed under load.
 */
let upstream: Server;
let upstreamPort: number;
let dir: string;
const running: RunningProcess[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    // A little work per request, so that requests are in flight when the process dies.
    setTimeout(() => res.end(`served ${req.url}`), 2);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  dir = await mkdtemp(join(tmpdir(), 'pier-proxy-cluster-'));
});

afterAll(async () => {
  for (const proc of running) if (proc.child.exitCode === null && proc.child.pid) process.kill(-proc.child.pid, 'SIGKILL');
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('the proxy on several processes', () => {
  it('keeps serving on the other processes, with no failed request there, when one is killed under load, and replaces it', async () => {
    const { proc, httpPort, adminPort } = await startProxy(3);
    const serving = await servingPids(proc, 3);
    expect(serving).toHaveLength(3);

    const load = runLoad(httpPort, 'web.pier.test', { connections: 12, durationMs: 4_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // Which process holds each of the client's connections, just before one of them dies.
    const owners = connectionOwners(serving, httpPort);
    const victim = serving[0] as number;
    process.kill(victim, 'SIGKILL');
    const result = await load;

    console.log(
      `load: ${result.ok} ok, ${result.failures.length} failed (on the killed process's connections), ${owners.size} connections`,
    );
    const failedElsewhere = result.failures.filter((f) => owners.get(f.localPort) !== victim);
    expect(result.ok).toBeGreaterThan(500);
    expect(failedElsewhere, `failures on connections of surviving processes: ${JSON.stringify(failedElsewhere)}`).toEqual([]);
    // Requests sent on a fresh connection after the kill all succeed.
    expect(result.failures.filter((f) => f.freshConnection)).toEqual([]);
    expect([...owners.values()].filter((pid) => pid !== victim).length).toBeGreaterThan(0);

    const replaced = await servingPids(proc, 3);
    expect(replaced).not.toContain(victim);
    expect(proc.output()).toContain('a serving process ended; starting another');
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async () => (await getViaProxy(httpPort, 'web.pier.test', '/after')).status),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);

    // The first process adds up what every serving process counted (the dead one's up to its last report).
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const counted = Number(/pier_proxy_requests_total\{app="web",env="production",code="2xx"\} (\d+)/.exec(metrics)?.[1]);
    expect(counted).toBeGreaterThanOrEqual(result.ok - 1_000);
    expect(counted).toBeLessThanOrEqual(result.ok + 30 + 1);

    signalGroup(proc, 'SIGTERM');
    expect(await exitWithin(proc, 20_000)).toBe(0);
  }, 60_000);

  it('takes an upstream out of rotation in every process once the one health poller sees it fail', async () => {
    const dead = await freePort();
    const { proc, httpPort, adminPort } = await startProxy(2, [
      { id: 'alive', host: '127.0.0.1', port: upstreamPort },
      { id: 'dead', host: '127.0.0.1', port: dead },
    ]);
    // Health checks run once, in the first process: both serving processes stop picking the dead one.
    await expect
      .poll(
        async () => ((await (await fetch(`http://127.0.0.1:${adminPort}/health`)).json()) as { upstreams: unknown }).upstreams,
        {
          timeout: 15_000,
        },
      )
      .toEqual({ total: 2, healthy: 1 });
    const statuses = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => (await getViaProxy(httpPort, 'web.pier.test', `/r${i}`)).status),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    // Requests only went to the healthy upstream: no retry after a connect failure in any process.
    expect(metrics).toContain('pier_proxy_upstream_retries_total 0');
    signalGroup(proc, 'SIGTERM');
    expect(await exitWithin(proc, 20_000)).toBe(0);
  }, 60_000);
});

async function startProxy(processes: number, upstreams = [{ id: 'c1', host: '127.0.0.1', port: upstreamPort }]) {
  const routes = [{ app: 'web', env: 'production', hostnames: ['web.pier.test'], upstreams }];
  const { env, httpPort, adminPort } = await snapshotProxyEnv(join(dir, `routes-${processes}-${upstreams.length}.json`), routes);
  const proc = startScript('apps/proxy/src/main.ts', { ...env, PIER_PROXY_PROCESSES: String(processes) });
  running.push(proc);
  await waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output()}`);
  });
  return { proc, httpPort, adminPort };
}

/** The proxy's serving processes, once there are `count` of them. */
async function servingPids(proc: RunningProcess, count: number): Promise<number[]> {
  const pid = proc.child.pid as number;
  let pids: number[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    pids = readdirSync(`/proc/${pid}/task`)
      .flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
      .filter((child) => isServingProcess(child));
    if (pids.length === count) return pids;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return pids;
}

/** A serving process runs `edge-process` (other children: the TypeScript loader's esbuild). */
function isServingProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('edge-process');
  } catch {
    return false;
  }
}

/**
 * For each client connection to `port` (by the client's local port), the pid
 * of the serving process holding its other end: socket inodes from
 * /proc/<pid>/fd matched against /proc/net/tcp.
 */
function connectionOwners(pids: number[], port: number): Map<number, number> {
  const inodeOwner = new Map<string, number>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      })();
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodeOwner.set(inode, pid);
    }
  }
  const owners = new Map<number, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, remote, inode] = [fields[1], fields[2], fields[9]];
    if (!local || !remote || !inode) continue;
    const localPort = Number.parseInt(local.split(':')[1] ?? '', 16);
    const remotePort = Number.parseInt(remote.split(':')[1] ?? '', 16);
    const owner = inodeOwner.get(inode);
    if (localPort === port && owner !== undefined) owners.set(remotePort, owner);
  }
  return owners;
}

interface Failure {
  localPort: number;
  freshConnection: boolean;
  error: string;
}

/** `connections` keep-alive loops of GETs for `durationMs`; what failed, and on which client connection. */
async function runLoad(port: number, host: string, options: { connections: number; durationMs: number }) {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const deadline = Date.now() + options.durationMs;
  const failures: Failure[] = [];
  let ok = 0;
  const loop = async () => {
    while (Date.now() < deadline) {
      const outcome = await new Promise<{ status: number } | Failure>((resolve) => {
        let localPort = 0;
        let fresh = false;
        const req = request({ host: '127.0.0.1', port, path: '/load', headers: { host }, agent, timeout: 5_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
          res.on('error', (err) => resolve({ localPort, freshConnection: fresh, error: err.message }));
        });
        req.on('socket', (socket) => {
          fresh = socket.localPort === undefined;
          const note = () => {
            localPort = socket.localPort ?? 0;
          };
          if (socket.localPort) note();
          else socket.once('connect', note);
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (err) => resolve({ localPort, freshConnection: fresh, error: err.message }));
        req.end();
      });
      if ('status' in outcome && outcome.status === 200) ok++;
      else if ('status' in outcome) failures.push({ localPort: -1, freshConnection: false, error: `status ${outcome.status}` });
      else failures.push(outcome);
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  agent.destroy();
  return { ok, failures };
}
