import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { HealthCheckPath } from '@pier/core';
import { afterEach, describe, expect, it } from 'vitest';
import { probeUpstream } from './health-probe.ts';
import { deadPort, startUpstream, type TestServer } from './testing/servers.ts';

const servers: TestServer[] = [];
const tcpServers: TcpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(tcpServers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** An app answering `routes[path]` (404 otherwise) that records each request's path and Host. */
async function app(routes: Record<string, number | ((host: string | undefined) => number)>) {
  const seen: { path: string; host: string | undefined }[] = [];
  const server = await startUpstream((req, res) => {
    seen.push({ path: req.url ?? '', host: req.headers.host });
    const route = routes[req.url ?? ''];
    const status = typeof route === 'function' ? route(req.headers.host) : (route ?? 404);
    if (status >= 300 && status < 400) res.setHeader('location', 'http://127.0.0.1:1/elsewhere');
    res.writeHead(status).end();
  });
  servers.push(server);
  return { server, seen };
}

/** A TCP server that accepts and at once closes every connection, as Docker's proxy does when nothing listens behind it. */
async function closingAtOnce(): Promise<number> {
  const server = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.resume();
    socket.end();
  });
  tcpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const probe = (port: number, check: HealthCheckPath, hostname?: string) =>
  probeUpstream({ host: '127.0.0.1', port }, { check, timeoutMs: 1000, ...(hostname ? { hostname } : {}) });

describe('probeUpstream', () => {
  it.each<[string, Record<string, number>, HealthCheckPath, boolean, string[], string]>([
    ['automatic: /health 200 decides', { '/health': 200, '/': 500 }, null, true, ['/health'], '200 OK'],
    ['automatic: no /health, / 200', { '/': 200 }, null, true, ['/health', '/'], '/health 404 Not Found, / 200 OK'],
    [
      'automatic: no /health, / redirects (alive)',
      { '/': 302 },
      null,
      true,
      ['/health', '/'],
      '/health 404 Not Found, / 302 Found',
    ],
    ['automatic: /health 503 decides', { '/health': 503, '/': 200 }, null, false, ['/health'], '503 Service Unavailable'],
    ['a path: 2xx passes', { '/up': 204 }, '/up', true, ['/up'], '204 No Content'],
    ['a path: a redirect is alive and not followed', { '/up': 301 }, '/up', true, ['/up'], '301 Moved Permanently'],
    ['a path: 404 fails', {}, '/up', false, ['/up'], '404 Not Found'],
  ])('%s', async (_what, routes, check, ok, paths, detail) => {
    const { server, seen } = await app(routes);
    const result = await probe(server.port, check);
    expect({ ok: result.ok, refused: result.refused, detail: result.detail }).toEqual({ ok, refused: false, detail });
    expect(seen.map((s) => s.path)).toEqual(paths);
  });

  it('sends the hostname it is given as Host, so an app that checks it answers as it will to users', async () => {
    const { server, seen } = await app({ '/health': (host) => (host === 'web-staging.pier.test' ? 200 : 400) });
    expect((await probe(server.port, '/health', 'web-staging.pier.test')).ok).toBe(true);
    expect((await probe(server.port, '/health')).ok).toBe(false);
    expect(seen.map((s) => s.host)).toEqual(['web-staging.pier.test', `127.0.0.1:${server.port}`]);
  });

  it('tcp: a listener passes without a request; nothing listening is a refusal', async () => {
    const { server, seen } = await app({});
    expect(await probe(server.port, 'tcp')).toMatchObject({ ok: true, refused: false, detail: 'open' });
    expect(seen).toEqual([]);
    expect(await probe(await deadPort(), 'tcp')).toMatchObject({ ok: false, refused: true, error: 'ECONNREFUSED' });
  });

  it('counts a connection closed before any answer (Docker’s proxy with nothing behind it) as nothing listening', async () => {
    const port = await closingAtOnce();
    expect(await probe(port, 'tcp')).toMatchObject({ ok: false, refused: true });
    expect(await probe(port, null)).toMatchObject({ ok: false, refused: true, error: 'ECONNRESET' });
    expect(await probe(port, '/up')).toMatchObject({ ok: false, refused: true });
  });

  it('a listener that never answers times out within the timeout, and is not a refusal', async () => {
    const hung = await startUpstream(() => {});
    servers.push(hung);
    const started = Date.now();
    const result = await probeUpstream({ host: '127.0.0.1', port: hung.port }, { check: null, timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result).toMatchObject({ ok: false, refused: false, error: expect.stringMatching(/timed out/) });
  });
});
