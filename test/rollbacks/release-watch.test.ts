import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type ReleaseRow, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleaseWatcher } from '../../apps/worker/src/rollbacks/release-watcher.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { quietLogger } from '../support/quiet-logger.ts';

/**
 * The watch after a rollout over real Postgres: `RolloutStore.succeed` begins
 * it in the switch's transaction (not after a rollback, not for a first
 * release, not when turned off), and the worker's ReleaseWatcher rolls a
 * release back from the request and restart figures it finds (rows written
 * here as the proxy and the metrics collector write them), exactly once,
 * with its reason on the watch and in the event log.
 */

let database: TestDatabase;
let stores: Stores;
let watcher: ReleaseWatcher;
let run = 0;
const health = { path: '/health', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 };
const quiet = quietLogger();

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  watcher = new ReleaseWatcher({ stores, logger: quiet, holder: 'watcher-a' });
});
afterAll(async () => database?.destroy());

interface Env {
  appId: string;
  environmentId: string;
  releases: ReleaseRow[];
}

/** An app whose production has `count` releases (none live yet). */
async function environmentWith(count: number): Promise<Env> {
  run += 1;
  const app = await stores.apps.create({ name: `watch-${run}`, webhookSecret: 'x'.repeat(40) });
  const env = await stores.environments.get(app.id, 'production');
  const releases: ReleaseRow[] = [];
  for (let i = 1; i <= count; i += 1) {
    releases.push(
      await stores.releases.create({
        environmentId: env.id,
        imageId: `sha256:${run}-${i}`,
        imageRef: `pier/watch-${run}:${i}`,
        config: {},
        configVersion: 0,
        replicas: 1,
        health,
      }),
    );
  }
  return { appId: app.id, environmentId: env.id, releases };
}

/** Makes `release` live as a deployment with `trigger` does: enqueue, begin, succeed. */
async function goLive(env: Env, release: ReleaseRow, trigger: 'manual' | 'rollback' | 'promote' = 'manual'): Promise<string> {
  const deployment = await stores.deployments.enqueueRelease({
    appId: env.appId,
    environmentId: env.environmentId,
    trigger,
    releaseId: release.id,
    imageId: release.imageId,
    commitSha: null,
  });
  const rollout = await stores.rollouts.begin({
    environmentId: env.environmentId,
    deploymentId: deployment.id,
    toReleaseId: release.id,
  });
  if (!rollout) throw new Error('no rollout');
  expect(await stores.rollouts.succeed(rollout.id, [], 'live')).not.toBeNull();
  return deployment.id;
}

/** Adds requests answered by `release` to this minute's bucket, as the proxy's flush does. */
async function answered(env: Env, release: ReleaseRow, ok: number, errors: number, minutesAgo = 0): Promise<void> {
  await database.sql`
    insert into request_metrics (environment_id, release_id, step, at, status_2xx, status_5xx, latency_buckets)
    values (${env.environmentId}, ${release.id}, 60, date_trunc('minute', now()) - ${minutesAgo} * interval '1 minute', ${ok}, ${errors}, '{}')
    on conflict on constraint request_metrics_bucket do update
      set status_2xx = request_metrics.status_2xx + excluded.status_2xx,
          status_5xx = request_metrics.status_5xx + excluded.status_5xx`;
}

async function restarted(env: Env, release: ReleaseRow, restarts: number): Promise<void> {
  await database.sql`
    insert into restart_metrics (environment_id, process_type, release_id, step, at, restarts)
    values (${env.environmentId}, 'web', ${release.id}, 60, date_trunc('minute', now()), ${restarts})`;
}

async function rollbacks(env: Env) {
  return database.sql<{ id: string; release_id: string; state: string }[]>`
    select id, release_id, state from deployments where environment_id = ${env.environmentId} and trigger = 'rollback'`;
}

async function autoRollbackEvents(env: Env) {
  return database.sql<{ message: string; data: Record<string, unknown>; kind: string }[]>`
    select kind, message, data from events where environment_id = ${env.environmentId} and kind = 'deploy.auto_rollback'`;
}

describe('the watch begins with the switch', () => {
  it('watches a new release against the one it replaced, for the window', async () => {
    const env = await environmentWith(2);
    const [v1, v2] = env.releases as [ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    // A first release has nothing to compare with.
    expect(await stores.releaseWatches.ofRelease(v1.id)).toBeNull();
    await goLive(env, v2);
    const watch = await stores.releaseWatches.ofRelease(v2.id);
    expect(watch).toMatchObject({ state: 'watching', previousReleaseId: v1.id, environmentId: env.environmentId });
    expect((watch?.until.getTime() ?? 0) - (watch?.startedAt.getTime() ?? 0)).toBe(300_000);
  });

  it('does not watch a rollback (no ping-pong), and a newer switch ends the watch of the one before', async () => {
    const env = await environmentWith(2);
    const [v1, v2] = env.releases as [ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    await goLive(env, v2);
    await goLive(env, v1, 'rollback');
    expect(await stores.releaseWatches.ofRelease(v1.id)).toBeNull();
    expect(await stores.releaseWatches.ofRelease(v2.id)).toMatchObject({ state: 'replaced' });
  });

  it('takes the window from the settings, and watches nothing when turned off', async () => {
    const env = await environmentWith(3);
    const [v1, v2, v3] = env.releases as [ReleaseRow, ReleaseRow, ReleaseRow];
    await stores.releaseWatches.updateSettings(env.environmentId, { windowSeconds: 42 });
    await goLive(env, v1);
    await goLive(env, v2);
    const watch = await stores.releaseWatches.ofRelease(v2.id);
    expect((watch?.until.getTime() ?? 0) - (watch?.startedAt.getTime() ?? 0)).toBe(42_000);
    expect(await stores.releaseWatches.updateSettings(env.environmentId, { enabled: false, windowSeconds: null })).toEqual({
      enabled: false,
      windowSeconds: 300,
      errorRate: 0.25,
      minRequests: 20,
      restarts: 3,
    });
    await goLive(env, v3);
    expect(await stores.releaseWatches.ofRelease(v3.id)).toBeNull();
  });
});

describe('the release watcher', () => {
  it('rolls back a release that answers 5xx to a share of requests, once, with the reason on the watch and in the event log', async () => {
    const env = await environmentWith(2);
    const [v1, v2] = env.releases as [ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    await answered(env, v1, 995, 5);
    await goLive(env, v2);
    await answered(env, v2, 5, 15);
    await watcher.pass();
    // 15 of 20: judged already, and far worse than v1's 0.5%.
    const watch = await stores.releaseWatches.ofRelease(v2.id);
    expect(watch?.state).toBe('rolled_back');
    expect(watch?.reason).toMatch(
      /^release v2 answered 5xx to 75% of requests \(15 of 20\) within \d+ s of going live; v1 answered 0\.5%$/,
    );
    const queued = await rollbacks(env);
    expect(queued).toEqual([{ id: watch?.rollbackDeploymentId, release_id: v1.id, state: 'deploying' }]);
    const events = await autoRollbackEvents(env);
    expect(events).toHaveLength(1);
    expect(events[0]?.message).toBe(`${watch?.reason}: rolling back to v1`);
    expect(events[0]?.data).toMatchObject({ release: 2, rolledBackTo: 1, deploymentId: watch?.rollbackDeploymentId });

    // Another pass (or another worker) queues nothing more.
    await answered(env, v2, 0, 50);
    await watcher.pass();
    expect(await rollbacks(env)).toHaveLength(1);
    expect(await autoRollbackEvents(env)).toHaveLength(1);
  });

  it('keeps watching too few requests, or errors no worse than before, and passes once the window is over', async () => {
    const env = await environmentWith(2);
    const [v1, v2] = env.releases as [ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    await answered(env, v1, 60, 40);
    await goLive(env, v2);
    await answered(env, v2, 0, 19);
    await watcher.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('watching');
    // 40% now, as v1 did before it: not clearly worse.
    await answered(env, v2, 30, 1);
    await watcher.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('watching');
    const later = new ReleaseWatcher({ stores, logger: quiet, holder: 'watcher-a', now: () => new Date(Date.now() + 301_000) });
    await later.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('passed');
    expect(await rollbacks(env)).toEqual([]);
  });

  it('rolls back a release that keeps restarting when the one before did not', async () => {
    const env = await environmentWith(2);
    const [v1, v2] = env.releases as [ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    await goLive(env, v2);
    await restarted(env, v2, 2);
    await watcher.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('watching');
    await database.sql`update restart_metrics set restarts = 3 where release_id = ${v2.id}`;
    await watcher.pass();
    const watch = await stores.releaseWatches.ofRelease(v2.id);
    expect(watch?.reason).toMatch(/^release v2 restarted 3 times within \d+ s of going live; v1 restarted 0 times before it$/);
    expect(await rollbacks(env)).toHaveLength(1);
  });

  it('waits while another deployment of the environment is on its way, and queues a decided rollback a stopped worker left', async () => {
    const env = await environmentWith(3);
    const [v1, v2, v3] = env.releases as [ReleaseRow, ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    await goLive(env, v2);
    await answered(env, v2, 0, 30);
    // A fix on its way: rolling back now would supersede it.
    const fix = await stores.deployments.enqueueRelease({
      appId: env.appId,
      environmentId: env.environmentId,
      trigger: 'manual',
      releaseId: v3.id,
      imageId: v3.imageId,
      commitSha: null,
    });
    await watcher.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('watching');
    await stores.deployments.transition(fix.id, ['deploying'], 'failed', { reason: 'test', finishedAt: new Date() });

    // The decision written, the worker gone before it queued the rollback: the next pass queues it.
    expect(await stores.releaseWatches.decideRollback(v2.id, 'release v2 was bad')).toBe(true);
    await watcher.pass();
    const watch = await stores.releaseWatches.ofRelease(v2.id);
    const queued = await rollbacks(env);
    expect(queued.map((d) => d.id)).toEqual([watch?.rollbackDeploymentId]);
    expect((await autoRollbackEvents(env)).map((e) => e.message)).toEqual(['release v2 was bad: rolling back to v1']);
  });

  it('never supersedes a push waiting for its checks, and a decided rollback of a release no longer live ends as replaced', async () => {
    const env = await environmentWith(3);
    const [v1, v2, v3] = env.releases as [ReleaseRow, ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    await goLive(env, v2);
    await answered(env, v2, 0, 30);
    // The user's fix, a push to a gated environment, waits for GitHub's checks.
    const fix = await stores.deployments.enqueue({
      appId: env.appId,
      environmentId: env.environmentId,
      trigger: 'push',
      gitRef: 'refs/heads/main',
      commitSha: 'a'.repeat(40),
    });
    await database.sql`update deployments set state = 'waiting_for_checks' where id = ${fix.id}`;
    await watcher.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('watching');
    expect((await stores.deployments.get(fix.id)).state).toBe('waiting_for_checks');
    expect(await rollbacks(env)).toEqual([]);
    await database.sql`update deployments set state = 'skipped', finished_at = now() where id = ${fix.id}`;

    // A decision a stopped worker left, then another release went live: nothing is rolled back.
    expect(await stores.releaseWatches.decideRollback(v2.id, 'release v2 was bad')).toBe(true);
    await database.sql`update environments set live_release_id = ${v3.id} where id = ${env.environmentId}`;
    await watcher.pass();
    expect(await stores.releaseWatches.ofRelease(v2.id)).toMatchObject({ state: 'replaced', rollbackDeploymentId: null });
    expect(await rollbacks(env)).toEqual([]);
    expect(await autoRollbackEvents(env)).toEqual([]);
  });

  it('acts only while it holds the lease', async () => {
    const env = await environmentWith(2);
    const [v1, v2] = env.releases as [ReleaseRow, ReleaseRow];
    await goLive(env, v1);
    await goLive(env, v2);
    await answered(env, v2, 0, 30);
    const other = new ReleaseWatcher({ stores, logger: quiet, holder: 'watcher-b' });
    await other.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('watching');
    await watcher.pass();
    expect((await stores.releaseWatches.ofRelease(v2.id))?.state).toBe('rolled_back');
  });
});
