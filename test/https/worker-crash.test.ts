import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { workerProcessEnv } from '../support/worker-process.ts';
import {
  BASE_DOMAIN,
  certificateLoop,
  deployRoute,
  httpsGet,
  PROXY_KEY,
  type ProxyProcess,
  startProxy,
  startUpstream,
  until,
} from './harness.ts';
import { Pebble } from './pebble.ts';

/**
 * The worker process killed (SIGKILL) right after it placed an order: the
 * next worker resumes that order once the dead one's lease has expired and
 * finishes it, without placing another. Several workers at once never order
 * the same hostname twice.
 */

const HOST = 'www.crash.example';
const run = randomBytes(3).toString('hex');
const secretKey = randomBytes(32);
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-https-crash-'));
const workers: RunningProcess[] = [];
let api: TestApi;
let pebble: Pebble;
let proxy: ProxyProcess;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let environmentId: string;

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  upstream = await startUpstream();
  const httpPort = await freePort();
  // Validations wait up to 2 s (at random), as a real CA's do: the kill lands mid-order.
  pebble = await Pebble.start({ httpPort, vaSleepSeconds: 2 });
  proxy = await startProxy(api.database.url, httpPort);
  environmentId = await deployRoute(api.database, api.box, 'crash', 'production', upstream.port);
});

afterAll(async () => {
  for (const worker of workers) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) continue;
    signalGroup(worker, 'SIGTERM');
    await exitWithin(worker, 20_000).catch(() => signalGroup(worker, 'SIGKILL'));
  }
  await proxy?.stop();
  await pebble?.stop();
  await upstream?.close();
  await api?.close();
  rmSync(workDirectory, { recursive: true, force: true });
});

/** The real worker entry point, configured for Pebble as an operator would configure it for Let's Encrypt. */
async function startWorkerProcess(): Promise<RunningProcess> {
  const worker = startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: api.database.url, secretKey, proxyKey: PROXY_KEY, workDirectory },
      {
        PIER_BASE_DOMAIN: BASE_DOMAIN,
        PIER_ALLOW_FILE_REPOS: 'false',
        PIER_BACKUP_DIR: join(workDirectory, 'backups'),
        PIER_QUEUE_PREFIX: `pier-https-${run}`,
        PIER_INSTANCE: `https-${run}`,
        PIER_ACME_DIRECTORY_URL: pebble.directoryUrl,
        PIER_ACME_CA_BUNDLE: pebble.listenerCaPath,
        PIER_ACME_CHECK_INTERVAL_MS: '200',
        // A short lease, so that the dead worker's order is taken over in seconds.
        PIER_ACME_LEASE_MS: '3000',
        PIER_ACME_RETRY_MS: '1000',
      },
    ),
  );
  workers.push(worker);
  await until('the worker has started', async () => {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
    return worker.output().includes('"msg":"worker started"');
  });
  return worker;
}

const certificateRow = async (hostname: string) =>
  (
    await api.database.sql`select state, order_url, certificate_pem, locked_until from certificates where hostname = ${hostname}`
  )[0];

describe('worker killed mid-order', () => {
  it('resumes the pending order after a restart instead of placing a new one', async () => {
    const first = await startWorkerProcess();
    await api.database.sql`insert into domains (environment_id, hostname) values (${environmentId}, ${HOST})`;
    await api.database.sql`select pg_notify('pier_routes', 'test')`;

    const orderUrl = await until(
      'the order is placed',
      async () => (await certificateRow(HOST))?.order_url as string | undefined,
      20_000,
    );
    signalGroup(first, 'SIGKILL');
    expect(await exitWithin(first, 10_000)).toBe('SIGKILL');
    const killed = await certificateRow(HOST);
    expect(killed).toMatchObject({ state: 'pending', order_url: orderUrl, certificate_pem: null });
    await until('Pebble has logged the order', async () => pebble.orders() === 1, 5_000).catch((err) => {
      throw new Error(`${err.message}\n${pebble.log}`);
    });

    const second = await startWorkerProcess();
    await until('the certificate is issued', async () => (await certificateRow(HOST))?.state === 'issued', 30_000);
    expect(await pebble.settledOrders()).toBe(1);
    expect(second.output()).toContain('resuming the pending ACME order');
    expect(second.output()).toContain(orderUrl);
    expect(second.output()).not.toContain('PRIVATE KEY');

    // The handshake verifies against Pebble's root. (The worker's reconciler has meanwhile taken this
    // test's container-less replica out of service, so what answers is the proxy's 503 page.)
    const root = await pebble.issuingRoot();
    const answer = await until('the proxy serves it', () => httpsGet(proxy.httpsPort, HOST, '/', root).catch(() => undefined));
    expect(answer.peer.subjectaltname).toBe(`DNS:${HOST}`);
  });

  it('three workers at once order each hostname exactly once', async () => {
    const [a, b] = await Promise.all([
      certificateLoop(api.database, api.box, pebble),
      certificateLoop(api.database, api.box, pebble),
    ]);
    const hostnames = ['one', 'two', 'three'].map((name) => `${name}.crash.example`);
    const ordersBefore = await pebble.settledOrders();
    for (const hostname of hostnames) {
      await api.database.sql`insert into domains (environment_id, hostname) values (${environmentId}, ${hostname})`;
    }
    await api.database.sql`select pg_notify('pier_routes', 'test')`;
    await Promise.all([a.renewer.runOnce(), b.renewer.runOnce()]);
    await until('all are issued', async () => {
      const rows = await api.database
        .sql`select count(*)::int as n from certificates where state = 'issued' and hostname like '%.crash.example' and hostname <> ${HOST}`;
      return rows[0]?.n === 3;
    });
    expect(await pebble.settledOrders()).toBe(ordersBefore + 3);
  });
});
