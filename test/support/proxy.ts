import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_REDIS_URL } from './env.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from './processes.ts';

export interface TestProxy {
  process: RunningProcess;
  httpPort: number;
  adminPort: number;
  /** SIGTERM (SIGKILL after 30 s) and the snapshot directory removed. */
  stop(): Promise<void>;
}

/** The real proxy process on free loopback ports, following `databaseUrl`, base domain `pier.test`; resolves once its /health answers. */
export async function startTestProxy(databaseUrl: string, env: Record<string, string> = {}): Promise<TestProxy> {
  const snapshotDir = mkdtempSync(join(tmpdir(), 'pier-proxy-'));
  const httpPort = await freePort();
  const adminPort = await freePort();
  const proxy = startScript('apps/proxy/src/main.ts', {
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PIER_PROXY_KEY: randomBytes(32).toString('base64'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_HTTP_PORT: String(httpPort),
    PIER_HTTPS_PORT: String(await freePort()),
    PIER_PROXY_ADMIN_PORT: String(adminPort),
    PIER_PROXY_SNAPSHOT: join(snapshotDir, 'routes.json'),
    PIER_LOG_FORMAT: 'json',
    ...env,
  });
  await waitForHttp(`http://127.0.0.1:${adminPort}/health`, 200, 30_000);
  return {
    process: proxy,
    httpPort,
    adminPort,
    stop: async () => {
      if (proxy.child.exitCode === null && proxy.child.signalCode === null) {
        signalGroup(proxy, 'SIGTERM');
        await exitWithin(proxy, 30_000).catch(() => signalGroup(proxy, 'SIGKILL'));
      }
      rmSync(snapshotDir, { recursive: true, force: true });
    },
  };
}

export interface SnapshotProxy {
  /** The proxy's whole environment (add to it, e.g. PIER_PROXY_PROCESSES). */
  env: Record<string, string>;
  httpPort: number;
  adminPort: number;
}

/**
 * The environment of a proxy that serves `routes` from a snapshot file
 * written to `path`, with Postgres and Redis unreachable, on free loopback
 * ports: for starting one from source or compiled.
 */
export async function snapshotProxyEnv(path: string, routes: readonly unknown[]): Promise<SnapshotProxy> {
  writeFileSync(path, JSON.stringify({ version: 1, savedAt: new Date().toISOString(), routes }));
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none',
    REDIS_URL: 'redis://127.0.0.1:1/0',
    PIER_PROXY_KEY: randomBytes(32).toString('base64'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_LOG_FORMAT: 'json',
    PIER_HTTP_PORT: String(httpPort),
    PIER_HTTPS_PORT: String(httpsPort),
    PIER_PROXY_ADMIN_PORT: String(adminPort),
    PIER_PROXY_SNAPSHOT: path,
  };
  return { env, httpPort, adminPort };
}

export interface ProxyAnswer {
  status: number;
  body: string;
  startedAt: number;
  endedAt: number;
}

/** One GET through the proxy with a Host header (fetch cannot set Host; node:http can), on a fresh connection. */
export function getViaProxy(port: number, host: string, path = '/', timeoutMs = 10_000): Promise<ProxyAnswer> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, startedAt, endedAt: Date.now() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
