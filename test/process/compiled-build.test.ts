import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import {
  exitWithin,
  freePort,
  REPO_ROOT,
  type RunningProcess,
  signalGroup,
  spawnCollecting,
  waitForHttp,
} from '../support/processes.ts';
import { getViaProxy, snapshotProxyEnv } from '../support/proxy.ts';

/**
 * `npm run build:server` into a directory of its own, and the compiled proxy
 * (with its serving processes), `migrate` and api run from there by plain
 * node: no TypeScript loader in their command line or environment. The
 * directory holds what the bundles find beside them in the repository:
 * node_modules and package.json (links).
 */
let out: string;
let cwd: string;
let upstream: Server;
let database: TestDatabase;
const running: RunningProcess[] = [];

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'pier-build-'));
  cwd = mkdtempSync(join(tmpdir(), 'pier-build-cwd-'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(out, 'node_modules'));
  symlinkSync(join(REPO_ROOT, 'package.json'), join(out, 'package.json'));
  const build = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/build-server.ts'), out], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  expect(build.status, build.stderr).toBe(0);
  upstream = createServer((req, res) => res.end(`hello from ${req.headers.host}`));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  database = await createTestDatabase({ empty: true });
}, 60_000);

afterAll(async () => {
  for (const proc of running) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) signalGroup(proc, 'SIGKILL');
  }
  upstream?.close();
  await database?.destroy();
  rmSync(out, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

/** Plain node running a bundle of the build, with exactly `env` (and PATH): no NODE_OPTIONS, no flags. */
function runCompiled(bundle: string, env: Record<string, string>, args: string[] = []): RunningProcess {
  const proc = spawnCollecting([process.execPath, join(out, bundle), ...args], { cwd, env });
  running.push(proc);
  return proc;
}

/** Its command line and whether its environment names NODE_OPTIONS, as the kernel has them. */
function started(pid: number): { argv: string[]; nodeOptions: boolean } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return { argv, nodeOptions: environ.some((entry) => entry.startsWith('NODE_OPTIONS=')) };
}

function childrenOf(pid: number): number[] {
  const path = `/proc/${pid}/task/${pid}/children`;
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

describe('the compiled build', () => {
  it('writes every process, each of which imports no TypeScript', () => {
    for (const bundle of [
      'apps/api/dist/main.mjs',
      'apps/worker/dist/main.mjs',
      'apps/proxy/dist/main.mjs',
      'apps/proxy/dist/edge-process.mjs',
      'scripts/dist/start-all.mjs',
    ]) {
      const code = readFileSync(join(out, bundle), 'utf8');
      expect(code, bundle).not.toMatch(/from "[^"]*\.ts"|import\("[^"]*\.ts"\)|from "@pier\//);
    }
  });

  it('runs the proxy and its serving processes with plain node', async () => {
    const port = (upstream.address() as AddressInfo).port;
    const routes = [
      { app: 'web', env: 'production', hostnames: ['web.pier.test'], upstreams: [{ id: 'c1', host: '127.0.0.1', port }] },
    ];
    const { env, httpPort, adminPort } = await snapshotProxyEnv(join(cwd, 'routes.json'), routes);
    const proxy = runCompiled('apps/proxy/dist/main.mjs', { ...env, PIER_PROXY_PROCESSES: '2' });
    const health = await waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${proxy.output()}`);
    });
    expect(await health.json()).toMatchObject({ status: 'ok', routes: { origin: 'snapshot', count: 1 } });
    expect(await getViaProxy(httpPort, 'web.pier.test')).toMatchObject({ status: 200, body: 'hello from web.pier.test' });

    const pid = proxy.child.pid as number;
    expect(started(pid)).toEqual({ argv: [process.execPath, join(out, 'apps/proxy/dist/main.mjs')], nodeOptions: false });
    const servers = childrenOf(pid);
    expect(servers).toHaveLength(2);
    for (const child of servers) {
      expect(started(child)).toEqual({
        argv: [process.execPath, join(out, 'apps/proxy/dist/edge-process.mjs')],
        nodeOptions: false,
      });
    }
    proxy.child.kill('SIGTERM');
    expect(await exitWithin(proxy, 15_000)).toBe(0);
  });

  it('migrates an empty database and serves the api from the bundles', async () => {
    const migrate = runCompiled('apps/api/dist/main.mjs', { DATABASE_URL: database.url, PIER_LOG_FORMAT: 'json' }, ['migrate']);
    expect(await exitWithin(migrate, 20_000)).toBe(0);
    expect(migrate.output()).toContain('migrations applied');

    const apiPort = await freePort();
    const api = runCompiled('apps/api/dist/main.mjs', {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      PIER_SECRET_KEY: randomBytes(32).toString('base64'),
      PIER_ADMIN_TOKEN: randomBytes(32).toString('hex'),
      PIER_BASE_DOMAIN: 'pier.test',
      PIER_LOG_FORMAT: 'json',
      PIER_API_PORT: String(apiPort),
    });
    const ready = await waitForHttp(`http://127.0.0.1:${apiPort}/ready`, 200, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${api.output()}`);
    });
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    expect(started(api.child.pid as number).argv).toEqual([process.execPath, join(out, 'apps/api/dist/main.mjs')]);
    signalGroup(api, 'SIGTERM');
    expect(await exitWithin(api, 10_000)).toBe(0);
  });
});
