import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Crash events from the worker's real loops on real Docker: a process type
 * whose command exits at once crash-loops and is recorded ONE crash.loop per
 * streak (not one per restart: its streak passes 5 with one event; the redeploy that resets it begins a second streak
 * and a second event), a type past its 32 MiB memory limit is recorded crash.oom, and the deployments' queued and live events are in the
 * app's event log in order.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const app = `pcrash-${Date.now().toString(36)}`;
const ENV = `/apps/${app}/environments/staging`;

const files = {
  Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n',
  Procfile: 'web: node server.js\ncrasher: node -e "process.exit(3)"\nhog: node hog.js\n',
  'server.js': `
const http = require('http');
const server = http.createServer((req, res) => res.end('ok'));
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  // Holds 150 MiB: fine at the default 512 MiB, killed at 32 MiB.
  'hog.js': `
const chunks = [];
for (let i = 0; i < 15; i++) chunks.push(Buffer.alloc(10 * 1024 * 1024, 1));
setInterval(() => {}, 60_000);
process.on('SIGTERM', () => process.exit(0));
`,
};

interface EventView {
  kind: string;
  env: string | null;
  message: string;
  data: Record<string, unknown>;
}

beforeAll(async () => {
  api = await createTestApi();
  // Short backoffs: the third crash in a row comes within seconds.
  worker = await startTestWorker(api.database, api.box, {
    reconcileIntervalMs: 500,
    reconcilePlan: { backoffBaseMs: 200, backoffMaxMs: 400, crashLoopStreak: 3 },
  });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: `acme/${app}`, cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 300 });
  // The redeploy's release restarts more than the one before (its hog runs out of memory): the worker's release
  // watch would roll it back on its own, a third rollout that begins a third streak. This test is about the events.
  const noWatch = await api.request({ method: 'PATCH', url: ENV, payload: { autoRollback: { enabled: false } } });
  expect(noWatch.statusCode, noWatch.body).toBe(200);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) await removeAppFromDocker(worker.docker, app);
  await api?.close();
  repo?.remove();
}, 120_000);

async function events(kinds: string): Promise<EventView[]> {
  const res = await api.request({ method: 'GET', url: `/apps/${app}/events?kind=${kinds}&limit=200` });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().events as EventView[]).reverse();
}

async function restartStreak(type: string): Promise<number> {
  const res = await api.request({ method: 'GET', url: `${ENV}/status` });
  const found = (res.json().processes as { type: string; restartStreak: number }[]).find((p) => p.type === type);
  return found?.restartStreak ?? 0;
}

describe('crash events', () => {
  it('one crash.loop per streak, crash.oom at the memory limit, and the deployments in order', async () => {
    const sha = repo.commit(files);
    repo.push();
    const pushed = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha),
      secret,
    });
    expect(pushed.statusCode, pushed.body).toBe(202);
    const first = await waitForDeployment(api, pushed.json().deployments[0].id, ['live', 'failed'], 120_000);
    expect(first.state, first.reason).toBe('live');

    // The crasher restarts again and again: its streak passes 3 and goes on, with one event.
    await expect.poll(() => restartStreak('crasher'), { timeout: 60_000, interval: 300 }).toBeGreaterThanOrEqual(5);
    const loops = await events('crash.loop');
    expect(loops).toHaveLength(1);
    expect(loops[0]).toMatchObject({ env: 'staging', data: { processType: 'crasher', restartStreak: 3, exitCode: 3 } });
    expect(loops[0]?.message).toBe(`${app} staging: crasher is crash-looping (3 crashes in a row; last: it exited with code 3).`);

    const res = await api.request({ method: 'PATCH', url: `${ENV}/processes/hog`, payload: { memoryMb: 32 } });
    expect(res.statusCode, res.body).toBe(200);
    const redeploy = await waitForDeployment(api, res.json().deployment.id, ['live', 'failed'], 90_000);
    expect(redeploy.state, redeploy.reason).toBe('live');
    await expect
      .poll(async () => (await events('crash.oom')).length, { timeout: 60_000, interval: 500 })
      .toBeGreaterThanOrEqual(1);
    const [oom] = await events('crash.oom');
    expect(oom).toMatchObject({ data: { processType: 'hog', oomKilled: true, memoryMb: 32 } });
    expect(oom?.message).toBe(`${app} staging: a hog replica ran out of memory at its limit of 32 MiB and was killed.`);

    // The redeploy reset the crasher's streak: its second streak is reported once, whether it begins at 1 or its
    // count runs on from the old one (a crash planned in the same pass as the switch), and not again as it goes on.
    const crasherLoops = async () => (await events('crash.loop')).filter((e) => e.data.processType === 'crasher');
    await expect.poll(async () => (await crasherLoops()).length, { timeout: 60_000, interval: 300 }).toBe(2);
    const second = Number((await crasherLoops())[1]?.data.restartStreak);
    expect(second).toBeGreaterThanOrEqual(3);
    await expect.poll(() => restartStreak('crasher'), { timeout: 60_000, interval: 300 }).toBeGreaterThanOrEqual(second + 2);
    expect(
      await crasherLoops(),
      JSON.stringify(await events('crash.loop,deploy.queued,deploy.live,deploy.auto_rollback')),
    ).toHaveLength(2);
    // The hog's out-of-memory kills: reported until its streak is reported looping, not after.
    const hogLoops = (await events('crash.loop')).filter((e) => e.data.processType === 'hog');
    const ooms = await events('crash.oom');
    expect(ooms.every((e) => Number(e.data.restartStreak) <= Number(hogLoops[0]?.data.restartStreak ?? Infinity))).toBe(true);

    const deploys = await events('deploy.queued,deploy.live,deploy.failed');
    expect(deploys.map((e) => `${e.kind} ${e.data.trigger}`)).toEqual([
      'deploy.queued push',
      'deploy.live push',
      'deploy.queued config',
      'deploy.live config',
    ]);
  }, 240_000);
});
