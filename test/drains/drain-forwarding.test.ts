import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createStores, type Stores } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrainForwarder } from '../../apps/worker/src/drains/drain-forwarder.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { httpsReceiver } from './https-receiver.ts';
import { freePort, type Rsyslog, rsyslogd } from './rsyslog.ts';
import { makeTlsFixture, type TlsFixture } from './tls-fixture.ts';

/**
 * Drains against real endpoints: Debian's rsyslogd over TLS and a local
 * HTTPS receiver, each stopped while lines keep being stored, then started
 * again. The forwarder runs in this process against the test's Postgres.
 */
let api: TestApi;
let stores: Stores;
let tls: TlsFixture;
let rsyslog: Rsyslog;
let forwarder: DrainForwarder;
let environmentId: string;
let releaseId: string;
const workerLogs: string[] = [];
const HEADER_TOKEN = 'Bearer ingest-token-0123456789';

beforeAll(async () => {
  api = await createTestApi();
  stores = createStores(api.database.db, api.box);
  tls = await makeTlsFixture();
  rsyslog = await rsyslogd({ directory: tls.directory, port: await freePort(), tls });
  await rsyslog.start();
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'shop' } })).statusCode).toBe(201);
  const [env] = await api.database.sql<{ id: string }[]>`
    select e.id from environments e join apps a on a.id = e.app_id where a.name = 'shop' and e.name = 'production'`;
  environmentId = (env as { id: string }).id;
  // A release row, so that the lines carry its version (nothing runs it).
  const [release] = await api.database.sql<{ id: string }[]>`
    insert into releases (environment_id, version, image_id, image_ref, config_ciphertext, key_id, config_version, replicas, health)
    values (${environmentId}, 3, 'sha256:0', 'pier-local/debian:bookworm', 'x', 'x', 1, 1, '{}'::jsonb) returning id`;
  releaseId = (release as { id: string }).id;
  const destination = new Writable({
    write(chunk, _enc, done) {
      workerLogs.push(String(chunk));
      done();
    },
  });
  forwarder = new DrainForwarder({
    stores,
    logger: createLogger({ name: 'worker', level: 'debug', format: 'json', destination }),
    reservedPorts: [4000, 9090, 5432, 6379],
    intervalMs: 200,
    maxBackoffMs: 400,
    timeoutMs: 3000,
  });
  forwarder.start();
}, 60_000);

afterAll(async () => {
  await forwarder?.stop();
  await rsyslog?.stop();
  await tls?.remove();
  await api?.close();
});

/** Stores `count` lines numbered from `from` as the collector does; returns how long the store took. */
async function writeLines(from: number, count: number, stream: 'stdout' | 'stderr' = 'stdout'): Promise<number> {
  const started = performance.now();
  await stores.logs.append(
    Array.from({ length: count }, (_, i) => ({
      environmentId,
      at: new Date(),
      source: 'replica',
      processType: 'web',
      replica: 'shop-production-web-1',
      releaseId,
      stream,
      line: `line ${from + i}`,
    })),
  );
  return performance.now() - started;
}

/** Polls `probe` every 100 ms until it returns true, for `ms` at most. */
async function until(probe: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const drainState = async (name: string) =>
  (await api.request({ method: 'GET', url: '/apps/shop/drains' })).json().drains.find((d: { name: string }) => d.name === name);
const numbers = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `line ${from + i}`);

describe('a syslog drain over TLS to a real rsyslogd', () => {
  it('receives every line once, in order, after the server comes back from a restart; the store is not slowed', async () => {
    const made = await api.request({
      method: 'POST',
      url: '/apps/shop/drains',
      payload: { name: 'rsyslog', url: `syslog+tls://localhost:${rsyslog.port}`, ca: tls.ca },
    });
    expect(made.statusCode, made.body).toBe(201);
    const messages = async () => (await rsyslog.received()).map((l) => l.split(' ').slice(-2).join(' '));

    await writeLines(0, 40);
    await writeLines(40, 10, 'stderr');
    await until(async () => (await rsyslog.received()).length >= 50, 20_000, '50 lines at rsyslogd');
    const [first] = await rsyslog.received();
    expect(first).toBe('production shop shop-production-web-1 web [pier@32473 release="v3" stream="stdout"] line 0');

    await rsyslog.stop();
    // While the drain is down the collector's appends go on at the store's own pace.
    const appendMs: number[] = [];
    for (let batch = 0; batch < 5; batch++) appendMs.push(await writeLines(50 + batch * 30, 30));
    await until(async () => (await drainState('rsyslog')).failingSince !== null, 20_000, 'the drain to be marked failing');
    appendMs.push(await writeLines(200, 50));
    expect(Math.max(...appendMs)).toBeLessThan(1000);
    const failing = await drainState('rsyslog');
    expect(failing.lastError).toMatch(/ECONNREFUSED|closed/);
    expect(failing.lagLines).toBe(200);
    const stored = await api.database.sql`select count(*)::int as n from log_lines where environment_id = ${environmentId}`;
    expect(stored[0]?.n).toBe(250);

    await rsyslog.start();
    await until(async () => (await rsyslog.received()).length >= 250, 30_000, '250 lines at rsyslogd');
    expect(await messages()).toEqual(numbers(250));
    expect(await rsyslog.received()).toHaveLength(250);
    const stderrLine = (await rsyslog.received())[45];
    expect(stderrLine).toContain('stream="stderr"] line 45');
    await until(async () => (await drainState('rsyslog')).failingSince === null, 5000, 'the failure to clear');
    expect(await drainState('rsyslog')).toMatchObject({ delivered: 250, dropped: 0, lagLines: 0, lastError: null });

    const events = await api.database.sql`select kind, message from events where kind = 'drain.failing'`;
    expect(events).toHaveLength(1);
    expect(String(events[0]?.message)).toContain(`syslog+tls://localhost:${rsyslog.port}`);
    expect((await api.request({ method: 'DELETE', url: '/apps/shop/drains/rsyslog' })).statusCode).toBe(204);
  }, 90_000);
});

describe('a plain syslog drain to loopback', () => {
  it('sends RFC 5424 messages over TCP, in order', async () => {
    const plain = await rsyslogd({ directory: join(tls.directory, 'plain'), port: await freePort() });
    await plain.start();
    try {
      const made = await api.request({
        method: 'POST',
        url: '/apps/shop/drains',
        payload: { name: 'plain', url: `syslog://127.0.0.1:${plain.port}` },
      });
      expect(made.statusCode, made.body).toBe(201);
      await writeLines(7000, 20);
      await until(async () => (await plain.received()).length >= 20, 20_000, '20 lines at the plain rsyslogd');
      expect((await plain.received()).map((l) => l.split(' ').slice(-2).join(' '))).toEqual(numbers(20, 7000));
      expect((await plain.received())[0]).toBe(
        'production shop shop-production-web-1 web [pier@32473 release="v3" stream="stdout"] line 7000',
      );
      expect((await api.request({ method: 'DELETE', url: '/apps/shop/drains/plain' })).statusCode).toBe(204);
    } finally {
      await plain.stop();
    }
  }, 30_000);
});

describe('a drain whose endpoint’s certificate is not trusted', () => {
  it('sends nothing and says why', async () => {
    const made = await api.request({
      method: 'POST',
      url: '/apps/shop/drains',
      payload: { name: 'untrusted', url: `syslog+tls://localhost:${rsyslog.port}` },
    });
    expect(made.statusCode, made.body).toBe(201);
    const before = (await rsyslog.received()).length;
    await writeLines(5000, 3);
    await until(async () => (await drainState('untrusted')).failingSince !== null, 20_000, 'the drain to be marked failing');
    const state = await drainState('untrusted');
    expect(state.lastError).toMatch(/certificate/i);
    expect(state.delivered).toBe(0);
    expect(await rsyslog.received()).toHaveLength(before);
    expect((await api.request({ method: 'DELETE', url: '/apps/shop/drains/untrusted' })).statusCode).toBe(204);
  }, 30_000);
});

describe('an https drain to a local receiver', () => {
  it('resends a refused batch and what was written while the receiver was down, every line once, in order', async () => {
    const receiver = httpsReceiver(tls, await freePort());
    await receiver.start();
    try {
      const before = await api.database.sql`select coalesce(max(id), 0)::int as id from log_lines`;
      const made = await api.request({
        method: 'POST',
        url: '/apps/shop/drains',
        payload: {
          name: 'receiver',
          url: `https://127.0.0.1:${receiver.port}/ingest?source=pier`,
          headers: { Authorization: HEADER_TOKEN },
          ca: tls.ca,
        },
      });
      expect(made.statusCode, made.body).toBe(201);
      const received = () => receiver.accepted.flatMap((b) => b.lines.map((l) => l.line));

      receiver.refuseNext(2);
      await writeLines(1000, 20);
      await until(() => received().length >= 20, 20_000, '20 lines at the receiver');
      expect(receiver.refused).toBe(2);

      await receiver.stop();
      await writeLines(1020, 30);
      await until(async () => (await drainState('receiver')).failingSince !== null, 20_000, 'the drain to be marked failing');
      await receiver.start();
      await until(() => received().length >= 50, 20_000, '50 lines at the receiver');

      expect(received()).toEqual(numbers(50, 1000));
      const ids = receiver.accepted.flatMap((b) => b.lines.map((l) => l.id));
      expect(ids.every((id, i) => id > (before[0]?.id as number) && (i === 0 || id > (ids[i - 1] as number)))).toBe(true);
      expect(receiver.accepted.every((b) => b.headers.authorization === HEADER_TOKEN)).toBe(true);
      expect(receiver.accepted[0]?.lines[0]).toMatchObject({ app: 'shop', env: 'production', stream: 'stdout', release: 3 });
      await until(async () => (await drainState('receiver')).failingSince === null, 5000, 'the failure to clear');
      const state = await drainState('receiver');
      expect(state).toMatchObject({ delivered: 50, dropped: 0, lagLines: 0 });
      expect(JSON.stringify(state)).not.toContain('ingest-token');
      expect(workerLogs.join('')).not.toContain('ingest-token');
      expect(workerLogs.join('')).not.toContain('source=pier');
    } finally {
      await receiver.stop();
    }
  }, 90_000);
});
