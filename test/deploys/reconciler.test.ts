import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { LABEL_RELEASE, SecretBox } from '@pier/core';
import {
  createStores,
  type DeploymentRow,
  type HealthSettings,
  listenTo,
  type ReleaseRow,
  ROLLOUTS_CHANNEL,
  type RolloutRow,
  type Stores,
} from '@pier/db';
import { createLogger } from '@pier/log';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Reconciler, type ReconcilerOptions } from '../../apps/worker/src/deploy/reconciler.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { MemoryNetworks } from '../support/memory-networks.ts';
import { type MemoryInstance, MemoryWorkload, type ProgramRequest } from '../support/memory-workload.ts';

/**
 * The reconciler in this process against the in-memory Workload fake, over a
 * real Postgres (a fresh database per test): rollouts, a failed gate, crash
 * restarts, scaling, two reconcilers sharing one lease, a takeover after the
 * leader dies, and a rollout superseded mid-way. Timings are short so the
 * file runs in seconds; each replica is a MemoryWorkload program named by its
 * release's image.
 */

const INSTANCE = 'reconciler-test';
const REPLICAS = 2;
const INTERVAL_MS = 150;
const LEASE_MS = 1000;
const DRAIN_MS = 300;
const BACKOFF_MS = 300;
const HEALTH: HealthSettings = { path: '/health', intervalMs: 50, timeoutMs: 500, healthyThreshold: 1, deadlineMs: 1500 };
const POLL = { timeout: 10_000, interval: 20 };

let database: TestDatabase;
let stores: Stores;
let workload: MemoryWorkload;
let networks: MemoryNetworks;
let appId: string;
let environmentId: string;
let reconcilers: Reconciler[];
/** Run before the reconcilers stop: a frozen one is ended first. */
let beforeStop: (() => void)[];
/** Health probes replicas answered, by the Host they named (the environment's hostname). */
let probes: Map<string, number>;
/** While true, replicas of the `held` image answer 503. */
let holding: boolean;
let logLines: string[];

beforeEach(async ({ onTestFailed }) => {
  reconcilers = [];
  beforeStop = [];
  probes = new Map();
  holding = false;
  logLines = [];
  onTestFailed(() => console.error(logLines.slice(-200).join('')));
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  workload = new MemoryWorkload({
    // A drained replica's 10 s of grace is 100 ms here; it exits at once on SIGTERM anyway.
    graceScale: 0.01,
    programs: {
      healthy: { serve: (request) => answer(request, 200) },
      unhealthy: { serve: () => ({ status: 503, body: 'not ready' }), logs: ['listening on 8080', 'database unreachable'] },
      held: { serve: (request) => answer(request, holding ? 503 : 200) },
      // Its port is published, but nothing listens behind it: each connection is closed at once.
      deaf: { serve: (request) => answer(request, 200), listens: false, logs: ['listening on 3001'] },
      crashing: { exitAfterMs: 100, exitCode: 3, logs: [{ stream: 'stderr', line: 'cannot read config' }] },
    },
  });
  networks = new MemoryNetworks({
    attached: (name) => live().filter((instance) => instance.spec.networks.includes(name)).length,
  });
  const app = await stores.apps.create({ name: 'web', webhookSecret: 'x'.repeat(40) });
  const production = await stores.environments.update(app.id, 'production', { replicas: REPLICAS, drainTimeoutMs: DRAIN_MS });
  appId = app.id;
  environmentId = production.id;
});

afterEach(async () => {
  for (const hook of beforeStop) hook();
  await Promise.all(reconcilers.map((reconciler) => reconciler.stop()));
  workload.close();
  await database.destroy();
});

/** A program's answer, counting health probes by the Host they named. */
function answer(request: ProgramRequest, status: number) {
  if (request.path === '/health') {
    const host = request.headers.host ?? '';
    probes.set(host, (probes.get(host) ?? 0) + 1);
  }
  return { status, body: status === 200 ? 'ok' : 'warming up' };
}

function startReconciler(holder: string, overrides: Partial<ReconcilerOptions> = {}): Reconciler {
  const destination = new Writable({
    write: (chunk, _encoding, done) => {
      logLines.push(`${holder} ${chunk}`);
      done();
    },
  });
  const reconciler = new Reconciler({
    stores,
    workload,
    networks,
    instance: INSTANCE,
    baseDomain: 'pier.test',
    logger: createLogger({ name: 'worker', level: 'info', format: 'json', destination }),
    holder,
    intervalMs: INTERVAL_MS,
    activeIntervalMs: 50,
    leaseMs: LEASE_MS,
    // The streak stays at 1 after a crash: recovery (a quiet minute) never comes within a test.
    plan: { backoffBaseMs: BACKOFF_MS, backoffMaxMs: 4 * BACKOFF_MS, resetAfterMs: 60_000 },
    wakeOn: listenTo(database.sql, ROLLOUTS_CHANNEL),
    ...overrides,
  });
  reconcilers.push(reconciler);
  reconciler.start();
  return reconciler;
}

function release(image: string, health: HealthSettings = HEALTH): Promise<ReleaseRow> {
  return stores.releases.create({
    environmentId,
    imageId: image,
    imageRef: `pier/web:${image}`,
    config: {},
    configVersion: 0,
    replicas: REPLICAS,
    health,
  });
}

/** What a deploy job writes for `target` (a deployment of an existing release, its rollout begun), and nothing more. */
async function deploy(target: ReleaseRow): Promise<{ deployment: DeploymentRow; rollout: RolloutRow }> {
  const deployment = await stores.deployments.enqueueRelease({
    appId,
    environmentId,
    trigger: 'manual',
    releaseId: target.id,
    imageId: target.imageId,
    commitSha: null,
  });
  const rollout = await stores.rollouts.begin({ environmentId, deploymentId: deployment.id, toReleaseId: target.id });
  if (!rollout) throw new Error(`the rollout of deployment ${deployment.id} did not begin`);
  return { deployment, rollout };
}

/** The rollout once it is no longer active. */
async function settled(rollout: RolloutRow, timeout = POLL.timeout): Promise<RolloutRow> {
  await expect.poll(async () => (await stores.rollouts.get(rollout.id))?.state, { ...POLL, timeout }).not.toBe('active');
  return (await stores.rollouts.get(rollout.id)) as RolloutRow;
}

/** Replicas the fake runs now: neither exited nor removed. */
function live(): MemoryInstance[] {
  return workload.instances().filter((instance) => !instance.removed && instance.status !== 'exited');
}

/** Replicas of `target` the fake runs now. */
function running(target: ReleaseRow): MemoryInstance[] {
  return live().filter((instance) => instance.labels[LABEL_RELEASE] === target.id);
}

/** Every replica of `target` the fake ever ran. */
function everRun(target: ReleaseRow): MemoryInstance[] {
  return workload.instances().filter((instance) => instance.labels[LABEL_RELEASE] === target.id);
}

const ids = (instances: { id: string }[]) => instances.map((instance) => instance.id).sort();
const serving = () => stores.replicas.list(environmentId, ['serving']);
const environment = () => stores.environments.byId(environmentId);

/** A rollout of a healthy release that succeeded: the environment's live release. */
async function liveRelease(): Promise<ReleaseRow> {
  const v1 = await release('healthy');
  expect((await settled((await deploy(v1)).rollout)).state).toBe('succeeded');
  return v1;
}

/**
 * Samples the fake every 20 ms: the most replicas of each release running at
 * once, when each replica was last seen running, and how many samples found
 * two of `leaders` leading at once.
 */
function watch(leaders: Reconciler[] = []) {
  const most = new Map<string, number>();
  const lastRunning = new Map<string, number>();
  let bothLeading = 0;
  const sample = () => {
    const now = Date.now();
    const counts = new Map<string, number>();
    const running = live();
    for (const instance of running) {
      const releaseId = instance.labels[LABEL_RELEASE] ?? '';
      counts.set(releaseId, (counts.get(releaseId) ?? 0) + 1);
      lastRunning.set(instance.id, now);
    }
    for (const [releaseId, count] of counts) most.set(releaseId, Math.max(most.get(releaseId) ?? 0, count));
    if (leaders.filter((reconciler) => reconciler.leading).length > 1) bothLeading += 1;
  };
  const timer = setInterval(sample, 20);
  sample();
  return {
    most,
    lastRunning,
    stop: () => {
      clearInterval(timer);
      sample();
      return { bothLeading };
    },
  };
}

/**
 * What a killed worker leaves behind, for the objects it acts through: after
 * `freeze()` every call never returns, so its reconciler acts no more and
 * gives nothing up (its lease stays until it expires). `end()` rejects those
 * calls and every later one, so that the test can stop it. `lastCallAt`
 * tells when a method was last called before the freeze.
 */
class Freezer {
  #state: 'live' | 'frozen' | 'dead' = 'live';
  readonly #pending = new Set<(error: Error) => void>();
  readonly #lastCall = new Map<string, number>();

  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (object, key) => {
        const value: unknown = Reflect.get(object, key, object);
        if (typeof value === 'function') {
          return (...args: unknown[]) => this.#call(String(key), () => value.apply(object, args));
        }
        return value !== null && typeof value === 'object' ? this.wrap(value) : value;
      },
    });
  }

  freeze(): void {
    this.#state = 'frozen';
  }

  end(): void {
    this.#state = 'dead';
    for (const reject of this.#pending) reject(new Error('the worker was killed'));
    this.#pending.clear();
  }

  lastCallAt(method: string): number {
    return this.#lastCall.get(method) ?? 0;
  }

  #call(method: string, call: () => unknown): unknown {
    if (this.#state === 'live') {
      this.#lastCall.set(method, Date.now());
      return call();
    }
    const never =
      this.#state === 'dead'
        ? Promise.reject(new Error('the worker was killed'))
        : new Promise((_resolve, reject) => this.#pending.add(reject));
    // Some calls are not awaited (a synchronous method's result): their rejection is no unhandled error.
    never.catch(() => {});
    return never;
  }
}

describe('the reconciler against MemoryWorkload', () => {
  it('rolls out a release, then replaces it with the next, whose rollout drains the old replicas before removing them', async () => {
    startReconciler('solo');
    const v1 = await release('healthy');
    const first = await deploy(v1);
    expect((await settled(first.rollout)).state).toBe('succeeded');
    expect(await environment()).toMatchObject({ liveReleaseId: v1.id, desiredReleaseId: v1.id });
    expect((await stores.deployments.get(first.deployment.id)).state).toBe('live');
    const v1Rows = await serving();
    expect(v1Rows.map((row) => row.releaseId)).toEqual([v1.id, v1.id]);
    expect(ids(running(v1))).toEqual(v1Rows.map((row) => row.containerId).sort());
    expect(everRun(v1)).toHaveLength(REPLICAS);
    expect(networks.names()).toEqual(['pier-web-production']);

    const watcher = watch();
    const v2 = await release('healthy');
    const second = await deploy(v2);
    const switched = await settled(second.rollout);
    expect(switched.state).toBe('succeeded');
    await expect.poll(() => running(v1).length, POLL).toBe(0);
    watcher.stop();

    expect(await environment()).toMatchObject({ liveReleaseId: v2.id, desiredReleaseId: v2.id });
    expect((await stores.deployments.get(second.deployment.id)).state).toBe('live');
    expect((await stores.deployments.get(first.deployment.id)).state).toBe('superseded');
    const v2Rows = await stores.replicas.list(environmentId);
    expect(v2Rows.map((row) => [row.releaseId, row.state])).toEqual([
      [v2.id, 'serving'],
      [v2.id, 'serving'],
    ]);
    expect(ids(running(v2))).toEqual(v2Rows.map((row) => row.containerId).sort());
    expect(everRun(v2)).toHaveLength(REPLICAS);
    // Drained, not cut off: each old replica ran on for the drain timeout after the switch, then stopped on SIGTERM.
    const switchedAt = switched.finishedAt?.getTime() ?? Number.NaN;
    for (const old of everRun(v1)) {
      expect(old).toMatchObject({ removed: true, exitCode: 0 });
      expect(watcher.lastRunning.get(old.id)).toBeGreaterThanOrEqual(switchedAt + DRAIN_MS - 150);
    }
  });

  it('fails a rollout whose replicas never pass the health check: its deployment fails with the reason, the live release keeps serving', async () => {
    startReconciler('solo');
    const v1 = await liveRelease();
    const before = ids(running(v1));
    const v2 = await release('unhealthy', { ...HEALTH, deadlineMs: 1000 });
    const { deployment, rollout } = await deploy(v2);
    const failed = await settled(rollout);

    expect(failed.state).toBe('failed');
    expect(failed.reason).toContain('release v2 did not pass its health check (GET /health): not healthy within 1 s');
    expect(failed.reason).toContain('last health responses: 503 Service Unavailable');
    expect(failed.reason).toContain('database unreachable');
    expect(await stores.deployments.get(deployment.id)).toMatchObject({ state: 'failed', reason: failed.reason });
    expect(await environment()).toMatchObject({ liveReleaseId: v1.id, desiredReleaseId: v1.id });
    await expect.poll(() => everRun(v2).filter((instance) => !instance.removed).length, POLL).toBe(0);
    expect(everRun(v2)).toHaveLength(REPLICAS);
    expect(ids(running(v1))).toEqual(before);
    expect((await stores.replicas.list(environmentId)).map((row) => [row.releaseId, row.state])).toEqual([
      [v1.id, 'serving'],
      [v1.id, 'serving'],
    ]);
  });

  it('fails a rollout early when nothing listens on the release’s port, naming the port, its source and the setting', async () => {
    startReconciler('solo', { healthStartPeriodMs: 600 });
    const v1 = await liveRelease();
    const v2 = await stores.releases.create({
      environmentId,
      imageId: 'deaf',
      imageRef: 'pier/web:deaf',
      config: {},
      configVersion: 0,
      replicas: REPLICAS,
      health: { ...HEALTH, path: null, deadlineMs: 60_000 },
      port: 3000,
      settings: { port: { value: 3000, source: 'image' } },
    });
    const started = Date.now();
    const failed = await settled((await deploy(v2)).rollout);
    expect(Date.now() - started).toBeLessThan(10_000); // the start period, not the 60 s deadline
    expect(failed.reason).toContain(
      'release v2 did not pass its health check (automatic: GET /health when it answers 2xx, else GET / below 500): nothing listens on port 3000 (the image’s EXPOSE) after ',
    );
    expect(failed.reason).toContain(
      ' s: make the app listen on $PORT, or set "port" in pier.json or on the environment (PATCH /apps/web/environments/production {"port": …})',
    );
    expect(failed.reason).toContain('listening on 3001');
    // Its replicas were told the port, and published it.
    expect(everRun(v2).map((instance) => [instance.spec.containerPort, instance.spec.env.PORT])).toEqual([
      [3000, '3000'],
      [3000, '3000'],
    ]);
    expect(await environment()).toMatchObject({ liveReleaseId: v1.id });
  });

  it('fails a rollout at once when a replica exits before it is healthy, with its exit code', async () => {
    startReconciler('solo');
    await liveRelease();
    const v2 = await release('crashing', { ...HEALTH, deadlineMs: 60_000 });
    const started = Date.now();
    const failed = await settled((await deploy(v2)).rollout);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failed.reason).toMatch(/^release v2 .*the container exited with code 3/);
    expect(failed.reason).toContain('cannot read config');
  });

  it('replaces a crashed serving replica after a backoff, gating the replacement before it serves', async () => {
    startReconciler('solo');
    const v1 = await liveRelease();
    const [victim, survivor] = running(v1);
    if (!victim || !survivor) throw new Error('two replicas expected');
    probes.clear();
    workload.kill(victim.id, 1);

    await expect
      .poll(async () => (await serving()).filter((row) => row.containerId !== victim.id && row.containerId !== survivor.id), POLL)
      .toHaveLength(1);
    const replacement = running(v1).find((instance) => instance.id !== survivor.id);
    expect(ids(running(v1))).toEqual(ids([survivor, replacement as MemoryInstance]));
    expect(ids(await serving().then((rows) => rows.map((row) => ({ id: row.containerId as string }))))).toEqual(ids(running(v1)));
    // Gated: the reconciler probed it before it served (nothing else probes here), as web.pier.test.
    expect([...probes.keys()]).toEqual(['web.pier.test']);
    expect(probes.get('web.pier.test') ?? 0).toBeGreaterThanOrEqual(1);
    // The crash was recorded, and the replacement waited for the backoff.
    const env = await environment();
    expect(env).toMatchObject({ restartStreak: 1, health: 'ok' });
    expect((env.nextRestartAt?.getTime() ?? 0) - (env.lastCrashAt?.getTime() ?? 0)).toBe(BACKOFF_MS);
    expect(replacement?.startedAt?.getTime()).toBeGreaterThanOrEqual(env.nextRestartAt?.getTime() ?? Number.NaN);
    expect(workload.instances().find((instance) => instance.id === victim.id)).toMatchObject({ removed: true, exitCode: 1 });
    expect(everRun(v1)).toHaveLength(REPLICAS + 1);
  });

  it('scales up and down without a rollout', async () => {
    startReconciler('solo');
    const v1 = await liveRelease();
    const originals = ids(running(v1));
    const rollouts = async () => (await database.sql<{ n: number }[]>`select count(*)::int as n from rollouts`)[0]?.n;
    expect(await rollouts()).toBe(1);

    await stores.environments.update(appId, 'production', { replicas: 4 });
    await expect.poll(async () => (await serving()).length, POLL).toBe(4);
    expect(running(v1)).toHaveLength(4);
    expect(ids(running(v1))).toEqual(expect.arrayContaining(originals));

    await stores.environments.update(appId, 'production', { replicas: 1 });
    await expect.poll(() => running(v1).length, POLL).toBe(1);
    const rows = await stores.replicas.list(environmentId);
    expect(rows.map((row) => [row.containerId, row.state])).toEqual([[running(v1)[0]?.id, 'serving']]);
    // The three others were drained and stopped on SIGTERM, not killed.
    const gone = everRun(v1).filter((instance) => instance.removed);
    expect(gone.map((instance) => instance.exitCode)).toEqual([0, 0, 0]);
    expect(everRun(v1)).toHaveLength(4);
    expect(await rollouts()).toBe(1);
    expect(await environment()).toMatchObject({ liveReleaseId: v1.id, replicas: 1 });
  });

  it('two reconcilers: one leads, and through rollouts and a crash no release runs more replicas than wanted', async () => {
    const a = startReconciler('worker-a');
    const b = startReconciler('worker-b');
    const watcher = watch([a, b]);
    const releases: ReleaseRow[] = [];
    for (let i = 0; i < 3; i++) {
      const next = await release('healthy');
      const { deployment, rollout } = await deploy(next);
      expect((await settled(rollout)).state).toBe('succeeded');
      expect((await stores.deployments.get(deployment.id)).state).toBe('live');
      releases.push(next);
    }
    const [victim] = running(releases[2] as ReleaseRow);
    workload.kill(victim?.id ?? '', 1);
    await expect.poll(async () => (await serving()).filter((row) => row.containerId !== victim?.id).length, POLL).toBe(REPLICAS);
    const last = await release('healthy');
    const { rollout } = await deploy(last);
    expect((await settled(rollout)).state).toBe('succeeded');
    releases.push(last);
    await expect.poll(() => live().length, POLL).toBe(REPLICAS);
    const { bothLeading } = watcher.stop();

    // Never more replicas of a release than wanted, although both reconcilers ran passes all along.
    for (const each of releases) expect(watcher.most.get(each.id)).toBe(REPLICAS);
    // Every replica ever run: those of four rollouts and one replacement.
    expect(workload.instances()).toHaveLength(4 * REPLICAS + 1);
    expect(bothLeading).toBe(0);
    const holder = await stores.leases.holder('reconciler');
    expect([a, b].filter((reconciler) => reconciler.leading).map((reconciler) => reconciler.holder)).toEqual([holder]);
  });

  it('a leader killed mid-rollout keeps its lease until it expires; the other then takes it and finishes the rollout', async () => {
    const freezer = new Freezer();
    beforeStop.push(() => freezer.end());
    const leader = startReconciler('worker-a', {
      stores: freezer.wrap(stores),
      workload: freezer.wrap(workload),
      networks: freezer.wrap(networks),
    });
    await expect.poll(() => leader.leading, POLL).toBe(true);
    const follower = startReconciler('worker-b');
    const v1 = await liveRelease();
    holding = true;
    const v2 = await release('held', { ...HEALTH, deadlineMs: 10_000 });
    const { deployment, rollout } = await deploy(v2);
    // The leader has started the rollout's replicas and recorded them; their gates are pending.
    await expect
      .poll(async () => (await stores.replicas.list(environmentId, ['starting'])).filter((row) => row.containerId).length, POLL)
      .toBe(REPLICAS);
    // Killed (SIGKILL): from now on each of its calls to Postgres, the runtime and the networks hangs. It neither renews
    // nor releases its lease, and the replicas it started keep running.
    freezer.freeze();
    const killedAt = Date.now();
    holding = false;

    await expect.poll(() => follower.leading, { timeout: LEASE_MS + 5_000, interval: 20 }).toBe(true);
    const takenAt = Date.now();
    // Not before the dead leader's last renewal expired, and within the lease and a pass after it died.
    expect(takenAt).toBeGreaterThanOrEqual(freezer.lastCallAt('acquire') + LEASE_MS - 50);
    expect(takenAt - killedAt).toBeLessThanOrEqual(LEASE_MS + INTERVAL_MS + 1000);
    expect(await stores.leases.holder('reconciler')).toBe('worker-b');

    expect((await settled(rollout)).state).toBe('succeeded');
    expect((await stores.deployments.get(deployment.id)).state).toBe('live');
    expect(await environment()).toMatchObject({ liveReleaseId: v2.id });
    // The follower gated and switched the replicas the leader had started; it started none of its own.
    expect(everRun(v2)).toHaveLength(REPLICAS);
    expect(ids(running(v2))).toEqual((await serving()).map((row) => row.containerId).sort());
    await expect.poll(() => running(v1).length, POLL).toBe(0);
  });

  it('a rollout superseded mid-way: its deployment is superseded, the newer one goes live, none of its replicas remain', async () => {
    startReconciler('solo');
    const v1 = await liveRelease();
    holding = true;
    // It would fail its gate only after the test: its replicas go because they are no longer wanted.
    const v2 = await release('held', { ...HEALTH, deadlineMs: 60_000 });
    const second = await deploy(v2);
    await expect.poll(() => running(v2).length, POLL).toBe(REPLICAS);

    const v3 = await release('healthy');
    const third = await deploy(v3);
    expect((await stores.rollouts.get(second.rollout.id))?.state).toBe('superseded');
    expect((await settled(third.rollout)).state).toBe('succeeded');
    expect((await stores.deployments.get(third.deployment.id)).state).toBe('live');
    expect((await stores.deployments.get(second.deployment.id)).state).toBe('superseded');
    await expect.poll(() => running(v1).length + running(v2).length, POLL).toBe(0);
    expect(await environment()).toMatchObject({ liveReleaseId: v3.id, desiredReleaseId: v3.id, restartStreak: 0 });
    expect(everRun(v2).every((instance) => instance.removed)).toBe(true);
    expect((await stores.replicas.list(environmentId)).map((row) => [row.releaseId, row.state])).toEqual([
      [v3.id, 'serving'],
      [v3.id, 'serving'],
    ]);
  });
});
