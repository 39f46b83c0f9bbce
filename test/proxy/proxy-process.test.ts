import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitWithin, type RunningProcess, startScript, waitForHttp } from '../support/processes.ts';
import { getViaProxy, snapshotProxyEnv } from '../support/proxy.ts';

let upstream: Server;
let upstreamPort: number;
let dir: string;
const running: RunningProcess[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow done'), 1_500);
    else res.end(`hello ${req.headers['x-forwarded-proto']}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  dir = await mkdtemp(join(tmpdir(), 'pier-proxy-proc-'));
});

afterAll(async () => {
  for (const proc of running) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('apps/proxy process', () => {
  it('serves the snapshot routes with the database unreachable, reports on its admin port, and drains on SIGTERM', async () => {
    const routes = [
      {
        app: 'web',
        env: 'production',
        hostnames: ['web.pier.test'],
        upstreams: [{ id: 'c1', host: '127.0.0.1', port: upstreamPort }],
      },
    ];
    const { env, httpPort, adminPort } = await snapshotProxyEnv(join(dir, 'routes.json'), routes);
    const proc = startScript('apps/proxy/src/main.ts', { ...env, PIER_SECRET_KEY: randomBytes(32).toString('base64') });
    running.push(proc);
    const health = await (await waitForHttp(`http://127.0.0.1:${adminPort}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', routes: { origin: 'snapshot', count: 1 } });

    expect(await getViaProxy(httpPort, 'web.pier.test', '/')).toMatchObject({ status: 200, body: 'hello http' });
    expect((await getViaProxy(httpPort, 'other.pier.test', '/')).status).toBe(404);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toContain('pier_proxy_requests_total{app="web",env="production",code="2xx"} 1');

    const slow = getViaProxy(httpPort, 'web.pier.test', '/slow');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.child.kill('SIGTERM');
    expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
    expect(await exitWithin(proc, 15_000)).toBe(0);
  });
});
