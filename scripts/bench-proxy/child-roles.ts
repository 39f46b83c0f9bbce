import cluster from 'node:cluster';
import { createServer, request as httpRequest } from 'node:http';
import type { Route } from '@pier/core';
import { connectDatabase, PostgresRequestMetrics } from '@pier/db';
import { EdgeProxy, HealthPoller, MetricsFlusher, ProxyMetrics, RouteTable, UndiciForwarder } from '@pier/proxy';
import { Pool } from 'undici';
import { BODY, FORWARDING_HEADERS, HEADERS_PATH, HOST, type LoadResult } from './shared.ts';

/**
 * Minimal upstream: `node:cluster` workers sharing one port; `/slow` answers
 * after 20 ms, HEADERS_PATH with the forwarding headers it received.
 */
export function runUpstream(port: number, workers: number): void {
  if (cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    let online = 0;
    cluster.on('listening', () => {
      if (++online === workers) process.send?.({ type: 'ready' });
    });
    process.on('SIGTERM', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.send('drain');
      setTimeout(() => process.exit(0), 2_000).unref();
      cluster.on('exit', () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
    });
    return;
  }
  const server = createServer((req, res) => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(BODY.length) });
      res.end(BODY);
    };
    if (req.url === '/slow') setTimeout(answer, 20);
    else if (req.url === HEADERS_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(Object.fromEntries(FORWARDING_HEADERS.map((name) => [name, req.headers[name] ?? null]))));
    } else answer();
  });
  server.listen(port, '127.0.0.1');
  process.on('message', (message) => {
    if (message !== 'drain') return;
    // Graceful: finish what is in flight, close idle keep-alive connections.
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}

/**
 * How the proxy counts requests: not at all (`off`), or counted and flushed to Postgres every `flushMs` as
 * apps/proxy does (`flushed`, with the environment and release the bench route names).
 */
export type MetricsMode =
  | { kind: 'off' }
  | { kind: 'flushed'; databaseUrl: string; environmentId: string; releaseId: string; flushMs: number };

/**
 * Pier's proxy assembled as apps/proxy assembles it (EdgeProxy, undici, health
 * polling), with request counting switchable: what the metrics cost is measured on.
 */
export async function runMetricsProxy(port: number, upstreamPort: number, mode: MetricsMode): Promise<void> {
  const forwarder = new UndiciForwarder();
  const table = new RouteTable();
  const poller = new HealthPoller({ targets: () => table.healthTargets() });
  const ids = mode.kind === 'flushed' ? { environmentId: mode.environmentId, releaseId: mode.releaseId } : {};
  const routes = [benchRoute(upstreamPort, ids)];
  table.replace(routes);
  poller.sync();
  forwarder.retain(routes.flatMap((r) => r.upstreams));
  poller.start();
  const metrics = new ProxyMetrics({ count: mode.kind !== 'off' });
  const database = mode.kind === 'flushed' ? connectDatabase(mode.databaseUrl, { max: 1 }) : null;
  const flusher =
    mode.kind === 'flushed' && database
      ? new MetricsFlusher({ metrics, sink: new PostgresRequestMetrics(database.sql), intervalMs: mode.flushMs })
      : null;
  flusher?.start();
  const edge = new EdgeProxy({ routes: table, health: poller, forwarder, metrics });
  const server = createServer({ keepAliveTimeout: 5_000 });
  edge.attach(server);
  server.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready' }));
  // Exit cleanly, naming any upstream errors seen.
  const exit = async () => {
    await flusher?.stop(); // the last interval's counts, as apps/proxy flushes them on shutdown
    await database?.close();
    const problems = metrics
      .render()
      .split('\n')
      .filter((l) => /^pier_proxy_(upstream_errors_total|upstream_retries_total [1-9])/.test(l));
    if (problems.length > 0) process.stderr.write(`metrics proxy (${mode.kind}) upstream errors:\n  ${problems.join('\n  ')}\n`);
    process.exit(0);
  };
  process.on('SIGINT', exit);
  process.on('SIGTERM', exit);
}

/**
 * The floor of any data path built on Node's HTTP server and undici: every
 * request passed to one keep-alive pool with a minimal handler, no routing,
 * forwarding headers, health checks, retries or metrics. What Pier's proxy
 * can at best approach.
 */
export function runFloor(port: number, upstreamPort: number): void {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 256, pipelining: 1 });
  const server = createServer((req, res) => {
    pool.dispatch(
      { path: req.url ?? '/', method: 'GET', headers: req.headers, body: null },
      {
        onConnect() {},
        onHeaders(status, raw) {
          const headers: string[] = [];
          for (let i = 0; i + 1 < raw.length; i += 2) headers.push(String(raw[i]), String(raw[i + 1]));
          res.writeHead(status, headers);
          return true;
        },
        onData: (chunk) => res.write(chunk),
        onComplete: () => res.end(),
        onError: (error) => res.destroy(error),
      },
    );
  });
  server.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready' }));
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

export function benchRoute(upstreamPort: number, ids: { environmentId?: string; releaseId?: string } = {}): Route {
  return {
    app: 'bench',
    env: 'production',
    ...(ids.environmentId ? { environmentId: ids.environmentId } : {}),
    hostnames: [HOST],
    upstreams: [
      { id: `up-${upstreamPort}`, host: '127.0.0.1', port: upstreamPort, ...(ids.releaseId ? { releaseId: ids.releaseId } : {}) },
    ],
  };
}

/** Closed-loop keep-alive load (the fallback when wrk is missing): `connections` loops, bounded by count and time. */
export async function runLoadgen(port: number, connections: number, durationS: number, maxRequests: number): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationS * 1000;
  const started = performance.now();
  const loop = async () => {
    while (performance.now() < deadline && latencies.length + errors < maxRequests) {
      const t0 = performance.now();
      try {
        const { statusCode, body } = await pool.request({ path: '/', method: 'GET', headers: { host: HOST } });
        await body.dump();
        if (statusCode >= 400) errors++;
        else latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
  const result: LoadResult = {
    requests: latencies.length,
    rps: latencies.length / elapsedS,
    p50ms: pct(50),
    p99ms: pct(99),
    errors,
  };
  process.send?.({ type: 'result', result });
}

/** Requests the client abandons: half before any answer, half after the first bytes; `/slow` keeps them in flight. */
export async function runAbortSoak(port: number, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/slow', agent: false, headers: { host: HOST } });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      if (i % 2 === 0) setTimeout(() => req.destroy(), i % 7);
      else req.on('response', (res) => res.once('data', () => req.destroy()).resume());
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  process.send?.({ type: 'result', result: { aborted: count } });
}
