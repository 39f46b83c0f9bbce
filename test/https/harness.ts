import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect, type PeerCertificate } from 'node:tls';
import { AcmeIssuer, configureAcmeTransport } from '@pier/acme';
import { SecretBox } from '@pier/core';
import { CertificateStore, createStores, type Database, PostgresAcmeAccountStore, PostgresChallengeResponses } from '@pier/db';
import { createLogger } from '@pier/log';
import { CertificateRenewer } from '../../apps/worker/src/certificates/certificate-renewer.ts';
import { makeLive } from '../support/live-release.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import type { Pebble } from './pebble.ts';

export const BASE_DOMAIN = 'pier.test';

/** A tiny app: answers `hello <scheme>` with the path, on 127.0.0.1. */
export async function startUpstream(): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    res.end(`hello ${req.headers['x-forwarded-proto']} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An app whose environment is live with one serving replica at `port`: a route, as a deploy leaves it. */
export async function deployRoute(database: Database, box: SecretBox, app: string, env: string, port: number): Promise<string> {
  const stores = createStores(database.db, box);
  const created = await stores.apps
    .get({ role: 'admin', tokenId: null }, app)
    .catch(() => stores.apps.create({ name: app, webhookSecret: 'x'.repeat(40) }));
  const environment = await stores.environments.get(created.id, env);
  const release = await stores.releases.create({
    environmentId: environment.id,
    imageId: 'sha256:test',
    imageRef: `pier/${app}:1`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/health', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
  } as Parameters<typeof stores.releases.create>[0]);
  const replica = await stores.replicas.add(environment.id, release.id, `pier-${app}-${env}-https`);
  await stores.replicas.attach(replica.id, `container-${app}-${env}`, { host: '127.0.0.1', port });
  await makeLive(database.db, environment.id, release.id, [replica.id]);
  return environment.id;
}

export interface ProxyProcess {
  proc: RunningProcess;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  /** Holds the route and certificate snapshots; kept by `stop({ keepSnapshots: true })`. */
  snapshotDir: string;
  stop(options?: { keepSnapshots?: boolean }): Promise<void>;
}

/**
 * PIER_PROXY_KEY of the proxies and certificate loops here: certificate keys
 * are sealed under it, never under the api's PIER_SECRET_KEY.
 */
export const PROXY_KEY = randomBytes(32);

/** The real proxy process (apps/proxy/src/main.ts) on loopback, reading routes and certificates from `databaseUrl`. */
export async function startProxy(
  databaseUrl: string,
  httpPort: number,
  snapshotDir?: string,
  /** More settings, e.g. PIER_CONTROL_HOSTNAME. */
  env: Record<string, string> = {},
): Promise<ProxyProcess> {
  const dir = snapshotDir ?? (await mkdtemp(join(tmpdir(), 'pier-https-proxy-')));
  const [httpsPort, adminPort] = [await freePort(), await freePort()];
  const proc = startScript('apps/proxy/src/main.ts', {
    DATABASE_URL: databaseUrl,
    REDIS_URL: 'redis://127.0.0.1:1/0',
    PIER_PROXY_KEY: PROXY_KEY.toString('base64'),
    PIER_BASE_DOMAIN: BASE_DOMAIN,
    PIER_LOG_FORMAT: 'json',
    PIER_LOG_LEVEL: 'debug',
    PIER_PROXY_HOST: '127.0.0.1',
    PIER_HTTP_PORT: String(httpPort),
    PIER_HTTPS_PORT: String(httpsPort),
    PIER_PROXY_ADMIN_PORT: String(adminPort),
    PIER_PROXY_SNAPSHOT: join(dir, 'routes.json'),
    ...env,
  });
  await waitForHttp(`http://127.0.0.1:${adminPort}/health`).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output()}`);
  });
  return {
    proc,
    httpPort,
    httpsPort,
    adminPort,
    snapshotDir: dir,
    stop: async (options = {}) => {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        signalGroup(proc, 'SIGTERM');
        await exitWithin(proc, 15_000).catch(() => signalGroup(proc, 'SIGKILL'));
      }
      if (!options.keepSnapshots) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Plain HTTP to the proxy with a Host header (fetch cannot set Host). */
export function httpGet(port: number, host: string, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

export interface HttpsAnswer extends HttpAnswer {
  /** The certificate the proxy presented. */
  peer: PeerCertificate;
  protocol: string | null;
}

/**
 * One HTTPS request over a new connection to the proxy, with SNI `servername`,
 * verifying the chain against `ca` (Pebble's root) and the hostname. Rejects
 * when verification fails.
 */
export function httpsGet(port: number, servername: string, path: string, ca: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca, timeout: 5000 }, () => {
      const peer = socket.getPeerCertificate();
      const protocol = socket.getProtocol();
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
      let raw = '';
      socket.on('data', (chunk) => {
        raw += chunk;
      });
      socket.on('end', () => {
        const [head = '', body = ''] = raw.split('\r\n\r\n');
        const [statusLine = '', ...lines] = head.split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const chunked = headers['transfer-encoding'] === 'chunked';
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: chunked ? unchunk(body) : body, peer, protocol });
      });
    });
    socket.on('error', reject);
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
  });
}

/** The certificate presented for `servername` without verifying it (to see the fallback). */
export function presentedCertificate(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  while (rest.length > 0) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) break;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
  return out;
}

/** The worker's certificate loop in this process, on the real ACME adapter and stores, logs captured. */
export interface CertificateLoop {
  renewer: CertificateRenewer;
  certificates: CertificateStore;
  logs: string[];
}

export async function certificateLoop(
  database: Database,
  box: SecretBox,
  pebble: Pebble,
  options: { includeGenerated?: boolean; intervalMs?: number; retryMs?: number; fixed?: string[] } = {},
): Promise<CertificateLoop> {
  configureAcmeTransport({ extraCaPem: await pebble.listenerCa(), retryAttempts: 1, retryDelaySeconds: 1 });
  const logs: string[] = [];
  const logger = createLogger({
    name: 'worker',
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  const certificates = new CertificateStore(database.db, new SecretBox(PROXY_KEY));
  const challenges = new PostgresChallengeResponses(database.db);
  const issuer = new AcmeIssuer({
    directoryUrl: pebble.directoryUrl,
    email: options.includeGenerated ? 'ops@example.org' : null,
    accounts: new PostgresAcmeAccountStore(database.db, box),
    challenges,
    pollMinMs: 200,
    pollMaxMs: 1000,
    log: logger,
  });
  const renewer = new CertificateRenewer({
    certificates,
    challenges,
    issuer,
    wanted: () => certificates.wantedHostnames(BASE_DOMAIN, options.includeGenerated ?? false, options.fixed ?? []),
    sql: database.sql,
    logger,
    intervalMs: options.intervalMs ?? 60_000,
    leaseMs: 10_000,
    retryMs: options.retryMs ?? 60_000,
  });
  return { renewer, certificates, logs };
}

/** Polls `check` until it returns a value that is not undefined, null or false. */
export async function until<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
