import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, servingPorts, waitForDeployment } from '../support/deploy-app.ts';
import { type LoadSample, startLoad, summarize } from '../support/load-client.ts';
import { getViaProxy, startTestProxy, type TestProxy } from '../support/proxy.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Issue 13's volume "done means", with real builds, replicas, Docker volumes
 * and the real edge proxy process: an app writing to a volume keeps its data
 * across three deploys and a `docker kill` of its replica, and the rollout of
 * an app on a single-writer volume (the old replica stopped before the new
 * one starts, the proxy holding requests meanwhile) fails no request under
 * load; the pause is printed.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let proxy: TestProxy;
let secret: string;
const app = `vol-${Date.now().toString(36)}`;
const host = `${app}-staging.pier.test`;
const fullName = 'acme/volume-app';

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, {
    reconcileIntervalMs: 1000,
    reconcilePlan: { backoffBaseMs: 1000, unhealthyAfterMs: 3000 },
  });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 1000 });
  proxy = await startTestProxy(api.database.url);
}, 90_000);

afterAll(async () => {
  await proxy?.stop();
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    const volumes = (await worker.docker.docker.listVolumes({ filters: { label: [`pier.app=${app}`] } })).Volumes ?? [];
    for (const volume of volumes) await worker.docker.removeVolume(volume.Name).catch(() => {});
  }
  await api?.close();
  repo?.remove();
}, 90_000);

/**
 * The app: `/` answers its version; `/append` appends it to /data/log and
 * answers the log; `/log` answers the log. It writes `start <v>` when it
 * starts and `stop <v>` when SIGTERM stops it, so the log shows whether two
 * releases ever ran on the volume at once.
 */
function volumeApp(version: string): Record<string, string> {
  return {
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
    'server.js': `
const fs = require('fs');
const http = require('http');
const LOG = '/data/log';
fs.appendFileSync(LOG, 'start ${version}\\n');
const server = http.createServer((req, res) => {
  if (req.url === '/append') { fs.appendFileSync(LOG, '${version}\\n'); return res.end(fs.readFileSync(LOG, 'utf8')); }
  if (req.url === '/log') return res.end(fs.readFileSync(LOG, 'utf8'));
  res.end('${version}');
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => { fs.appendFileSync(LOG, 'stop ${version}\\n'); process.exit(0); }));
`,
  };
}

async function deployLive(version: string): Promise<{ finishedAt: string }> {
  const sha = repo.commit(volumeApp(version), version);
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(fullName, 'refs/heads/main', sha), secret });
  expect(res.statusCode).toBe(202);
  const done = await waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed', 'cancelled'], 150_000);
  expect(done.reason).toBeNull();
  expect(done.state).toBe('live');
  return done;
}

const viaProxy = (path = '/') => getViaProxy(proxy.httpPort, host, path, 10_000);

async function proxyServes(body: string): Promise<void> {
  await expect
    .poll(async () => (await viaProxy().catch((err: Error) => ({ status: 0, body: err.message }))).body, {
      timeout: 20_000,
      interval: 200,
    })
    .toBe(body);
}

/** The log's data lines (what /append wrote), without the start and stop lines. */
async function appended(): Promise<string[]> {
  const res = await viaProxy('/log');
  expect(res.status).toBe(200);
  return res.body.split('\n').filter((line) => /^v\d+$/.test(line));
}

/** The longest time between two successful answers in a row: how long the rollout paused the app. */
function pauseMs(samples: readonly LoadSample[]): number {
  const ends = samples
    .filter((s) => s.status === 200)
    .map((s) => s.endedAt)
    .sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < ends.length; i++) longest = Math.max(longest, (ends[i] as number) - (ends[i - 1] as number));
  return longest;
}

describe('an app with a volume', () => {
  it('keeps its data across three deploys and a docker kill of its replica', async () => {
    const created = await api.request({
      method: 'POST',
      url: `/apps/${app}/environments/staging/volumes`,
      payload: { name: 'data', mountPath: '/data' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ shared: false, redeploy: false }); // nothing deployed yet
    const dockerVolume = created.json().dockerVolume as string;

    for (const version of ['v1', 'v2', 'v3']) {
      await deployLive(version);
      await proxyServes(version);
      expect((await viaProxy('/append')).status).toBe(200);
    }
    expect(await appended()).toEqual(['v1', 'v2', 'v3']);
    // Made by the volume operator with Pier's labels, not by Docker on the replica's behalf.
    const labels = (await worker.docker.docker.getVolume(dockerVolume).inspect()).Labels ?? {};
    expect(labels).toMatchObject({ 'pier.app': app, 'pier.role': 'volume', 'pier.volume': 'data' });

    const [before] = await servingPorts(api, app, 'staging');
    const [victim] = (await worker.docker.listContainers({ 'pier.app': app, 'pier.role': 'web' })).filter(
      (c) => c.hostPort === before,
    );
    expect(victim).toBeDefined();
    await worker.docker.docker.getContainer(victim?.id as string).kill();
    await expect
      .poll(async () => (await servingPorts(api, app, 'staging')).filter((p) => p !== before).length, {
        timeout: 60_000,
        interval: 250,
      })
      .toBe(1);
    await proxyServes('v3');
    expect(await appended()).toEqual(['v1', 'v2', 'v3']);
    expect((await viaProxy('/append')).status).toBe(200);
    expect(await appended()).toEqual(['v1', 'v2', 'v3', 'v3']);
  }, 600_000);

  it('rolls out on its single-writer volume under load with no failed request: old stopped, then new started', async () => {
    const load = startLoad({ port: proxy.httpPort, host, concurrency: 4, maxDurationMs: 200_000, requestTimeoutMs: 40_000 });
    const pushedAt = Date.now();
    const live = await deployLive('v4');
    await proxyServes('v4');
    const samples = await load.stop();
    const { sent, failed } = summarize(samples);
    const pause = pauseMs(samples);
    console.info(
      `[volumes] rollout on a single-writer volume under load: ${sent} requests over ` +
        `${((Date.now() - pushedAt) / 1000).toFixed(1)} s, ${failed.length} failed, pause ${pause} ms ` +
        `(longest gap between successful responses); live ${((Date.parse(live.finishedAt) - pushedAt) / 1000).toFixed(1)} s after the push`,
    );
    expect(
      failed.length,
      failed
        .slice(0, 5)
        .map((s) => `${s.status ?? '-'} ${s.error ?? s.body?.slice(0, 120)}`)
        .join('\n'),
    ).toBe(0);
    expect(samples.filter((s) => s.body === 'v4').length).toBeGreaterThan(0);

    // Never two releases on the volume at once: v3 stopped before v4 started.
    const log = (await viaProxy('/log')).body.split('\n').filter((line) => line !== '');
    const lastStart = log.lastIndexOf('start v4');
    expect(log.slice(lastStart - 1, lastStart + 1)).toEqual(['stop v3', 'start v4']);
  }, 300_000);
});
