/**
 * Pier's proxy as it runs in production, `runProxy(config, deps)` of
 * apps/proxy, with its routes from memory instead of Postgres: what the bench
 * measures as "pier". With PIER_PROXY_PROCESSES > 1 this process keeps the
 * route table and hands it to the `node:cluster` workers it forks, which serve.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, proxyConfigSchema } from '@pier/config';
import type { Route, RouteSource } from '@pier/core';
import { HttpProxyForwarder } from '@pier/proxy';
import { runProxy } from '../../apps/proxy/src/run-proxy.ts';
import { benchRoute } from './child-roles.ts';
import type { DataPath } from './shared.ts';

/** Ports and settings of one Pier proxy, chosen by the bench so that a primary and its workers agree. */
export interface PierSpec {
  dataPath: DataPath;
  processes: number;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  upstreamPort: number;
  /** A directory of its own for the route snapshot, removed by the bench. */
  snapshotDir: string;
}

/** The route table held in memory; `set` notifies the proxy's route feed as a database change would. */
class MemoryRouteSource implements RouteSource {
  readonly #listeners = new Set<() => void>();
  #routes: Route[];

  constructor(routes: Route[]) {
    this.#routes = routes;
  }

  async load(): Promise<Route[]> {
    return this.#routes;
  }

  subscribe(onChange: () => void): () => void {
    this.#listeners.add(onChange);
    return () => this.#listeners.delete(onChange);
  }

  set(routes: Route[]): void {
    this.#routes = routes;
    for (const listener of this.#listeners) listener();
  }
}

/**
 * The proxy's environment as its main.ts would parse it. The key seals the
 * certificate snapshot; the bench has no certificates, and a primary and its
 * workers must agree on it, so it is derived from a constant.
 */
function benchConfig(spec: PierSpec) {
  return parseConfig('bench proxy', proxyConfigSchema, {
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    REDIS_URL: 'redis://127.0.0.1:1/0',
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_PROXY_KEY: createHash('sha256').update('pier bench proxy (seals nothing)').digest('base64'),
    PIER_PROXY_HOST: '127.0.0.1',
    PIER_HTTP_PORT: String(spec.httpPort),
    PIER_HTTPS_PORT: String(spec.httpsPort),
    PIER_PROXY_ADMIN_PORT: String(spec.adminPort),
    PIER_PROXY_SNAPSHOT: join(spec.snapshotDir, 'routes.json'),
    PIER_PROXY_PROCESSES: String(spec.processes),
    PIER_LOG_LEVEL: 'error', // warnings (a retry on another upstream during the rolling switch) are expected here
    PIER_LOG_FORMAT: 'json',
  });
}

/**
 * Runs the proxy and answers the bench: `ready` once `runProxy` resolved,
 * `stats` (this process's RSS and open fds after a GC) when asked; `route`
 * switches the route to another upstream port (the rolling switch).
 */
export async function runPierProxy(spec: PierSpec): Promise<void> {
  const routes = new MemoryRouteSource([benchRoute(spec.upstreamPort)]);
  const forwarder = spec.dataPath === 'http-proxy' ? new HttpProxyForwarder() : undefined;
  await runProxy(benchConfig(spec), { routeSource: routes, ...(forwarder ? { forwarder } : {}) });
  process.on('message', (message: { type: string; upstreamPort?: number }) => {
    if (message.type === 'route' && message.upstreamPort) routes.set([benchRoute(message.upstreamPort)]);
    if (message.type === 'stats') {
      (globalThis as { gc?: () => void }).gc?.();
      const fds = readdirSync('/proc/self/fd').length;
      process.send?.({ type: 'stats', rssMb: process.memoryUsage().rss / 2 ** 20, fds });
    }
  });
  process.send?.({ type: 'ready' });
}
