import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { exitWithin, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { workerProcessEnv } from '../support/worker-process.ts';
import { httpsReceiver } from './https-receiver.ts';
import { freePort, type Rsyslog, rsyslogd } from './rsyslog.ts';
import { makeTlsFixture, type TlsFixture } from './tls-fixture.ts';

/**
 * The real worker process forwards drains: a drain to Debian's rsyslogd over
 * TLS and one to a local HTTPS receiver, added through the API; lines stored
 * as the collector stores them reach both, in order. The worker is stopped
 * (SIGTERM) while more lines are stored, and the next worker sends them,
 * every line once.
 */
const run = randomBytes(3).toString('hex');
const secretKey = randomBytes(32);
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-drain-work-'));
let api: TestApi;
let stores: Stores;
let tls: TlsFixture;
let rsyslog: Rsyslog;
let worker: RunningProcess | null = null;
let environmentId: string;

function startWorker(): RunningProcess {
  return startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: api.database.url, secretKey, workDirectory },
      { PIER_QUEUE_PREFIX: `pier-drain-${run}`, PIER_INSTANCE: `drain-${run}`, PIER_LOG_LEVEL: 'info' },
    ),
  );
}

async function stopWorker(): Promise<void> {
  if (!worker) return;
  const stopping = worker;
  worker = null;
  signalGroup(stopping, 'SIGTERM');
  await exitWithin(stopping, 30_000);
}

async function until(probe: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (worker && worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${worker?.output() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function writeLines(from: number, count: number): Promise<void> {
  await stores.logs.append(
    Array.from({ length: count }, (_, i) => ({
      environmentId,
      at: new Date(),
      source: 'replica',
      processType: 'web',
      replica: 'shop-production-web-1',
      releaseId: null,
      stream: 'stdout' as const,
      line: `line ${from + i}`,
    })),
  );
}

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  stores = createStores(api.database.db, api.box);
  tls = await makeTlsFixture();
  rsyslog = await rsyslogd({ directory: tls.directory, port: await freePort(), tls });
  await rsyslog.start();
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'shop' } })).statusCode).toBe(201);
  const [env] = await api.database.sql<{ id: string }[]>`
    select e.id from environments e join apps a on a.id = e.app_id where a.name = 'shop' and e.name = 'production'`;
  environmentId = (env as { id: string }).id;
}, 60_000);

afterAll(async () => {
  await stopWorker().catch(() => {});
  await rsyslog?.stop();
  await tls?.remove();
  await api?.close();
  rmSync(workDirectory, { recursive: true, force: true });
});

describe('the worker process', () => {
  it('forwards every stored line to syslog and https drains, in order, once, across a worker restart', async () => {
    const receiver = httpsReceiver(tls, await freePort());
    await receiver.start();
    try {
      for (const payload of [
        { name: 'syslog', url: `syslog+tls://127.0.0.1:${rsyslog.port}`, ca: tls.ca },
        { name: 'https', url: `https://localhost:${receiver.port}/in`, ca: tls.ca },
      ]) {
        const made = await api.request({ method: 'POST', url: '/apps/shop/drains', payload });
        expect(made.statusCode, made.body).toBe(201);
      }
      const atSyslog = async () => (await rsyslog.received()).map((l) => l.split(' ').slice(-2).join(' '));
      const atHttps = () => receiver.accepted.flatMap((b) => b.lines.map((l) => l.line));
      const expected = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`);

      worker = startWorker();
      await writeLines(0, 300);
      await until(async () => (await atSyslog()).length >= 300 && atHttps().length >= 300, 45_000, '300 lines at both drains');
      await stopWorker();

      await writeLines(300, 200);
      worker = startWorker();
      await until(async () => (await atSyslog()).length >= 500 && atHttps().length >= 500, 45_000, '500 lines at both drains');
      expect(await atSyslog()).toEqual(expected(500));
      expect(atHttps()).toEqual(expected(500));
      const drains = (await api.request({ method: 'GET', url: '/apps/shop/drains' })).json().drains;
      expect(drains.map((d: { delivered: number; lagLines: number }) => [d.delivered, d.lagLines])).toEqual([
        [500, 0],
        [500, 0],
      ]);
    } finally {
      await receiver.stop();
    }
  }, 120_000);
});
