import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitWithin, freePort, type RunningProcess, startScript, waitForHttp } from '../support/processes.ts';

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
    const snapshot = join(dir, 'routes.json');
    const routes = [
      {
        app: 'web',
        env: 'production',
        hostnames: ['web.pier.test'],
        upstreams: [{ id: 'c1', host: '127.0.0.1', port: upstreamPort }],
      },
    ];
    await writeFile(snapshot, JSON.stringify({ version: 1, savedAt: new Date().toISOString(), routes }));
    const [httpPort, adminPort] = [await freePort(), await freePort()];
    const proc = startScript('apps/proxy/src/main.ts', {
      DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none',
      REDIS_URL: 'redis://127.0.0.1:1/0',
      PIER_SECRET_KEY: randomBytes(32).toString('base64'),
      PIER_PROXY_KEY: randomBytes(32).toString('base64'),
      PIER_BASE_DOMAIN: 'pier.test',
      PIER_LOG_FORMAT: 'json',
      PIER_HTTP_PORT: String(httpPort),
      PIER_HTTPS_PORT: String(await freePort()),
      PIER_PROXY_ADMIN_PORT: String(adminPort),
      PIER_PROXY_SNAPSHOT: snapshot,
    });
    running.push(proc);
    const health = await (await waitForHttp(`http://127.0.0.1:${adminPort}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', routes: { origin: 'snapshot', count: 1 } });

    expect(await send(httpPort, 'web.pier.test', '/')).toEqual({ status: 200, body: 'hello http' });
    expect((await send(httpPort, 'other.pier.test', '/')).status).toBe(404);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toContain('pier_proxy_requests_total{app="web",env="production",code="2xx"} 1');

    const slow = send(httpPort, 'web.pier.test', '/slow');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.child.kill('SIGTERM');
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    expect(await exitWithin(proc, 15_000)).toBe(0);
  });
});

/** fetch cannot set Host; node:http can. */
function send(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}
