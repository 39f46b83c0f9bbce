import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import {
  createFastApp,
  getText,
  removeAppFromDocker,
  servingPorts,
  versionedApp,
  waitForDeployment,
} from '../support/deploy-app.ts';
import { type LoadSample, startLoad, summarize } from '../support/load-client.ts';
import { getViaProxy, type ProxyAnswer, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Issue 4's "done means", through the real edge proxy process: rolling deploys
 * under load drop nothing, a slow request survives a switch, a killed replica
 * is replaced without a failed request, and WebSockets pass through.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let proxy: TestProxy;
let secret: string;
let httpPort: number;
let adminPort: number;
const app = `zd-${Date.now().toString(36)}`;
const host = `${app}-staging.pier.test`;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, {
    reconcileIntervalMs: 1000,
    reconcilePlan: { backoffBaseMs: 1000, unhealthyAfterMs: 3000 },
  });
  repo = new TestGitRepository();
  secret = await createFastApp(api, {
    name: app,
    fullName: 'acme/zero-downtime',
    cloneUrl: repo.url,
    replicas: 2,
    drainTimeoutMs: 12_000,
    deadlineMs: 20_000,
  });

  proxy = await startTestProxy(api.database.url);
  httpPort = proxy.httpPort;
  adminPort = proxy.adminPort;
}, 90_000);

afterAll(async () => {
  await proxy?.stop();
  await worker?.stop();
  if (worker) await removeAppFromDocker(worker.docker, app);
  await api?.close();
  repo?.remove();
}, 90_000);

async function push(files: Record<string, string>, message: string): Promise<string> {
  const sha = repo.commit(files, message);
  repo.push();
  const res = await sendWebhook(api.app, {
    event: 'push',
    payload: pushPayload('acme/zero-downtime', 'refs/heads/main', sha),
    secret,
  });
  expect(res.statusCode).toBe(202);
  return res.json().deployments[0].id as string;
}

async function deployLive(files: Record<string, string>, message: string) {
  const done = await waitForDeployment(api, await push(files, message), ['live', 'failed', 'cancelled'], 150_000);
  expect(done.reason).toBeNull();
  expect(done.state).toBe('live');
  return done as { id: string; finishedAt: string };
}

/** One request through the proxy, on a fresh connection. */
const viaProxy = (path = '/', timeoutMs = 10_000) => getViaProxy(httpPort, host, path, timeoutMs);

/** Waits until the proxy serves `body` for the app (its route follows Postgres through LISTEN/NOTIFY). */
async function proxyServes(body: string): Promise<void> {
  await expect
    .poll(async () => (await viaProxy().catch((err: Error) => ({ status: 0, body: err.message }))).body, {
      timeout: 15_000,
      interval: 200,
    })
    .toBe(body);
}

function describeFailures(samples: readonly LoadSample[]): string {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const span = first && last ? ` from ${new Date(first.startedAt).toISOString()} to ${new Date(last.endedAt).toISOString()}` : '';
  return `${samples.length} failed requests${span}; the first ones:\n${samples
    .slice(0, 5)
    .map(
      (s) => `${new Date(s.startedAt).toISOString()} ${s.status ?? '-'} ${s.error ?? s.body?.replace(/\s+/g, ' ').slice(0, 160)}`,
    )
    .join('\n')}\nthe proxy's last warnings:\n${proxyWarnings()}`;
}

/** The proxy's last warning and error log lines (JSON), shortened, for failure messages. */
function proxyWarnings(): string {
  return proxy.process
    .output()
    .split('\n')
    .filter((line) => /"level":(4|5|6)0/.test(line))
    .slice(-8)
    .map((line) => line.replace(/"stack":"[^"]*",?/g, '').slice(0, 400))
    .join('\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A version of the test app that also echoes WebSocket text frames, with the handshake written by hand. */
function websocketApp(version: string): Record<string, string> {
  const files = versionedApp(version);
  files['server.js'] += `
const crypto = require('crypto');
server.on('upgrade', (req, socket) => {
  const accept = crypto
    .createHash('sha1')
    .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' +
      accept + '\\r\\n\\r\\n',
  );
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    if (pending.length < 2) return;
    const opcode = pending[0] & 0x0f;
    const masked = (pending[1] & 0x80) !== 0;
    let length = pending[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (pending.length < 4) return;
      length = pending.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) return socket.destroy();
    const maskBytes = masked ? 4 : 0;
    if (pending.length < offset + maskBytes + length) return;
    const mask = pending.subarray(offset, offset + maskBytes);
    const payload = Buffer.from(pending.subarray(offset + maskBytes, offset + maskBytes + length));
    if (masked) for (let i = 0; i < length; i++) payload[i] ^= mask[i % 4];
    pending = pending.subarray(offset + maskBytes + length);
    if (opcode !== 1) return socket.end();
    const header = length < 126 ? Buffer.from([0x81, length]) : Buffer.from([0x81, 126, length >> 8, length & 0xff]);
    socket.write(Buffer.concat([header, payload]));
  });
  socket.on('error', () => {});
});
`;
  return files;
}

interface Handshake {
  statusLine: string;
  headers: Record<string, string>;
  echo: string;
}

/** Opens a WebSocket through the proxy on a raw socket, sends one masked text frame, reads the echoed frame. */
function websocketEcho(text: string, timeoutMs = 10_000): Promise<Handshake & { key: string }> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: httpPort });
    const timer = setTimeout(() => socket.destroy(new Error(`no echo within ${timeoutMs} ms`)), timeoutMs);
    let received = Buffer.alloc(0);
    let handshake: Omit<Handshake, 'echo'> | null = null;
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      socket.write(
        [
          'GET /ws HTTP/1.1',
          `Host: ${host}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`,
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (!handshake) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine = '', ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        handshake = { statusLine, headers };
        received = received.subarray(end + 4);
        if (!statusLine.includes(' 101 ')) {
          clearTimeout(timer);
          socket.destroy();
          return resolve({ ...handshake, echo: '', key });
        }
        const payload = Buffer.from(text, 'utf8');
        const mask = randomBytes(4);
        const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
        socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
      }
      if (received.length < 2) return;
      const length = (received[1] as number) & 0x7f;
      if (received.length < 2 + length) return;
      clearTimeout(timer);
      const echo = received[0] === 0x81 ? received.subarray(2, 2 + length).toString('utf8') : `opcode ${received[0]}`;
      socket.end();
      resolve({ ...handshake, echo, key });
    });
  });
}

describe('zero downtime through the edge proxy process', () => {
  it('v1 then v2 under load: no failed request, and every response is v2 within seconds of the switch', async () => {
    await deployLive(versionedApp('v1'), 'v1');
    await proxyServes('v1');
    for (let i = 0; i < 6; i++) expect(await viaProxy()).toMatchObject({ status: 200, body: 'v1' });

    const load = startLoad({ port: httpPort, host, concurrency: 4, maxDurationMs: 150_000 });
    const pushedAt = Date.now();
    const live = await deployLive(versionedApp('v2'), 'v2');
    const liveAt = Date.parse(live.finishedAt);
    await sleep(7_000);
    const samples = await load.stop();

    const { sent, failed } = summarize(samples);
    const firstV2 = Math.min(...samples.filter((s) => s.body === 'v2').map((s) => s.startedAt));
    const lastOld = Math.max(...samples.filter((s) => s.body !== 'v2').map((s) => s.startedAt));
    console.info(
      `[zero-downtime] rolling deploy: ${sent} requests over ${((Date.now() - pushedAt) / 1000).toFixed(1)} s, ` +
        `${failed.length} failed; live ${((liveAt - pushedAt) / 1000).toFixed(1)} s after the push; ` +
        `first v2 response ${firstV2 - liveAt} ms after live; last non-v2 response started ${lastOld - liveAt} ms after live`,
    );
    expect(failed.length, describeFailures(failed)).toBe(0);
    expect(samples.filter((s) => s.startedAt < pushedAt + 1000).every((s) => s.body === 'v1')).toBe(true);
    const afterSwitch = samples.filter((s) => s.startedAt > liveAt + 5_000);
    expect(afterSwitch.length).toBeGreaterThan(0);
    expect(afterSwitch.filter((s) => s.body !== 'v2')).toEqual([]);
    expect(lastOld - liveAt).toBeLessThan(5_000);
  }, 200_000);

  it('a 10 s request in flight while v3 switches completes from v2', async () => {
    await proxyServes('v2');
    const id = await push(versionedApp('v3'), 'v3');
    // A slow request every two seconds from the push until v3 is live: some are in flight at the switch.
    const slow: Promise<ProxyAnswer | Error>[] = [];
    const cap = Date.now() + 150_000;
    let state = 'queued';
    let next = 0;
    while (!['live', 'failed', 'cancelled'].includes(state) && Date.now() < cap) {
      if (Date.now() >= next) {
        slow.push(viaProxy('/slow?ms=10000', 30_000).catch((err: Error) => err));
        next = Date.now() + 2_000;
      }
      await sleep(250);
      state = (await api.request({ method: 'GET', url: `/deployments/${id}` })).json().state;
    }
    const done = await waitForDeployment(api, id, ['live', 'failed', 'cancelled'], 5_000);
    expect(done.state).toBe('live');
    const liveAt = Date.parse(done.finishedAt);
    // The switch transaction stamps the replicas it puts in rotation: a request sent before that went to v2.
    const [row] = await api.database.sql<{ switched: Date }[]>`
      select min(r.updated_at) as switched from replicas r
      join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
      where a.name = ${app} and e.name = 'staging' and r.state = 'serving'`;
    const switchedAt = new Date(row?.switched ?? Number.NaN).getTime();
    expect(switchedAt).toBeLessThanOrEqual(liveAt);
    const answers = await Promise.all(slow);
    const errors = answers.filter((a): a is Error => a instanceof Error);
    expect(errors.map((e) => e.message)).toEqual([]);
    const ok = answers as ProxyAnswer[];
    for (const a of ok) expect(a.status).toBe(200);
    const acrossSwitch = ok.filter((a) => a.startedAt < switchedAt && a.endedAt > liveAt);
    console.info(
      `[zero-downtime] slow requests: ${ok.length} sent, ${acrossSwitch.length} in flight at the switch, ` +
        `longest ${Math.max(...ok.map((a) => a.endedAt - a.startedAt))} ms`,
    );
    expect(acrossSwitch.length).toBeGreaterThan(0);
    for (const a of acrossSwitch) expect(a.body).toBe('v2-slow');
    for (const a of ok) expect(['v2-slow', 'v3-slow']).toContain(a.body);
    await proxyServes('v3');
  }, 200_000);

  it('docker kill of one of two replicas: replaced within 30 s, no failed request meanwhile', async () => {
    await expect.poll(async () => (await servingPorts(api, app, 'staging')).length, { timeout: 30_000 }).toBe(2);
    const ports = await servingPorts(api, app, 'staging');
    const victimPort = ports[0] as number;
    const [victim] = (await worker.docker.listContainers({ 'pier.app': app })).filter((c) => c.hostPort === victimPort);
    expect(victim).toBeDefined();

    const load = startLoad({ port: httpPort, host, concurrency: 4, maxDurationMs: 60_000 });
    await sleep(1_500);
    const killedAt = Date.now();
    await worker.docker.docker.getContainer(victim?.id as string).kill();
    let replacedAt = 0;
    try {
      await expect
        .poll(
          async () => {
            const serving = await servingPorts(api, app, 'staging');
            return serving.filter((p) => p !== victimPort).length;
          },
          { timeout: 30_000, interval: 250 },
        )
        .toBe(2);
      replacedAt = Date.now();
      // The proxy follows: the dead upstream is gone from its table, the replacement is in and healthy.
      await expect
        .poll(
          async () => ((await (await fetch(`http://127.0.0.1:${adminPort}/health`)).json()) as { upstreams: unknown }).upstreams,
          { timeout: 10_000 },
        )
        .toEqual({ total: 2, healthy: 2 });
      // The replacement takes traffic for a while before the load stops.
      await sleep(3_000);
    } finally {
      await load.stop();
    }
    const samples = load.samples;
    const { sent, failed } = summarize(samples);
    console.info(
      `[zero-downtime] docker kill: replaced in ${((replacedAt - killedAt) / 1000).toFixed(1)} s; ` +
        `${sent} requests, ${failed.length} failed`,
    );
    expect(replacedAt - killedAt).toBeLessThan(30_000);
    expect(failed.length, describeFailures(failed)).toBe(0);
    const serving = await servingPorts(api, app, 'staging');
    expect(serving).not.toContain(victimPort);
    expect(await Promise.all(serving.map((p) => getText(p)))).toEqual(['v3', 'v3']);
    expect(samples.filter((s) => s.startedAt > replacedAt + 1_000).length).toBeGreaterThan(0);
  }, 90_000);

  it('a WebSocket echoes through the proxy', async () => {
    await deployLive(websocketApp('v4'), 'v4 websocket');
    await proxyServes('v4');
    const result = await websocketEcho('hello through pier');
    expect(result.statusLine).toMatch(/^HTTP\/1\.1 101 /);
    expect(result.headers['sec-websocket-accept']).toBe(
      createHash('sha1').update(`${result.key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'),
    );
    expect(result.echo).toBe('hello through pier');
  }, 200_000);

  it('a replica whose health check keeps failing is reported by the proxy and replaced by the reconciler', async () => {
    const before = await servingPorts(api, app, 'staging');
    expect(before).toHaveLength(2);
    const [sick] = before;
    expect(await getText(sick as number, '/sicken')).toBe('sick');
    // The proxy's poller marks it unhealthy on the replica row; the reconciler replaces it after unhealthyAfterMs.
    await expect
      .poll(
        async () => {
          const ports = await servingPorts(api, app, 'staging');
          return ports.length === 2 && !ports.includes(sick as number);
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBe(true);
    for (const port of await servingPorts(api, app, 'staging')) expect(await getText(port, '/health')).toBe('health');
  }, 120_000);
});
