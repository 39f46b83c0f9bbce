import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
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
import { exitWithin, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { workerProcessEnv } from '../support/worker-process.ts';

/**
 * Issue 11, "Done means": two real worker processes of one installation (one
 * database, one Redis queue, one Docker Engine) never start duplicate
 * replicas or fight over a rollout; when the one holding the reconciler lease
 * is killed mid-rollout, the other takes the lease and finishes the rollout.
 * Containers are counted by the installation's label all along: sampled
 * every 100 ms, and every create the Engine reports.
 */

const run = randomBytes(3).toString('hex');
const app = `two-${run}`;
const fullName = `acme/${app}`;
/** PIER_INSTANCE of both workers: every replica they start carries it. */
const instance = `two-${run}`;
const secretKey = randomBytes(32);
const docker = new DockerRuntime();
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-two-work-'));
const workers: RunningProcess[] = [];
const LEASE_TAKEN = 'reconciler lease taken';
const LEASE_LOST = 'reconciler lease lost';
/** PIER_RECONCILER_LEASE_MS of both workers: shorter than the default 15 s, so the takeover is seen sooner. */
const LEASE_MS = 5000;
/** The lease runs out, then a standing-by worker tries again within a second. */
const TAKEOVER_BOUND_MS = LEASE_MS + 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let api: TestApi;
let repo: TestGitRepository;
let secret: string;
let watch: ContainerWatch;

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName, cloneUrl: repo.url, replicas: 2, drainTimeoutMs: 1000 });
  watch = await watchContainers();
  await Promise.all([startWorkerProcess(), startWorkerProcess()]);
}, 150_000);

afterAll(async () => {
  for (const worker of workers) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) continue;
    signalGroup(worker, 'SIGTERM');
    await exitWithin(worker, 20_000).catch(() => {
      signalGroup(worker, 'SIGKILL');
      return worker.exited;
    });
  }
  await watch?.stop();
  for (const c of await docker.listContainers({ 'pier.instance': instance }).catch(() => [])) {
    await docker.removeContainer(c.id).catch(() => {});
  }
  await removeAppFromDocker(docker, app);
  await api?.close();
  repo?.remove();
  rmSync(workDirectory, { recursive: true, force: true });
}, 60_000);

/** The real worker entry point as its own process group; both share the database, the queue prefix and the instance. */
async function startWorkerProcess(): Promise<RunningProcess> {
  const worker = startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: api.database.url, secretKey, workDirectory },
      { PIER_QUEUE_PREFIX: `pier-two-${run}`, PIER_INSTANCE: instance, PIER_RECONCILER_LEASE_MS: String(LEASE_MS) },
    ),
  );
  workers.push(worker);
  // Its start installs the host firewall, whose iptables commands wait while Docker holds the xtables lock.
  await until(
    'the worker has started',
    async () => {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
      return worker.output().includes('"msg":"worker started"');
    },
    120_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${worker.output()}`);
  });
  return worker;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(everyMs);
  }
}

/** The pid in a reconciler's lease holder name (`host:pid:suffix`). */
function holderPid(holder: string | undefined): number | undefined {
  const pid = holder?.match(/:(\d+):[0-9a-f]+$/)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** How many times a worker logged `message`. */
function logged(worker: RunningProcess, message: string): number {
  return worker
    .output()
    .split('\n')
    .filter((line) => line.includes(message)).length;
}

// ---------------------------------------------------------------------------------------------------------------
// The watch: this installation's replica containers per release, every 100 ms and on every create; the lease holder.

interface ContainerWatch {
  /** What the test is doing now; each sample is filed under the phase current when it was read. */
  phase: string;
  /** Per phase, the most containers of each release (by its id) seen at once. */
  readonly peaks: Map<string, Map<string, number>>;
  /** Per release id, the containers Docker reported created. */
  readonly created: Map<string, Set<string>>;
  /** Per phase, the reconciler lease's holders seen. */
  readonly holders: Map<string, Set<string>>;
  samples: number;
  stop(): Promise<void>;
}

async function watchContainers(): Promise<ContainerWatch> {
  const label = [`pier.instance=${instance}`, 'pier.role=web'];
  const abort = new AbortController();
  const created = new Map<string, Set<string>>();
  const events = (await docker.docker.getEvents({
    filters: { type: ['container'], event: ['create'], label },
    abortSignal: abort.signal,
  })) as NodeJS.ReadableStream;
  let pending = '';
  events.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.trim())) {
      const event = JSON.parse(line) as { Actor: { ID: string; Attributes: Record<string, string> } };
      const release = event.Actor.Attributes['pier.release'] ?? '?';
      created.set(release, (created.get(release) ?? new Set()).add(event.Actor.ID));
    }
  });
  events.on('error', () => {}); // the abort at the end

  let stopped = false;
  const state: ContainerWatch = {
    phase: 'start',
    peaks: new Map(),
    created,
    holders: new Map(),
    samples: 0,
    stop: async () => {
      stopped = true;
      await sampling;
      abort.abort();
    },
  };
  const sampling = (async () => {
    while (!stopped) {
      const [containers, lease] = await Promise.all([
        docker.docker.listContainers({ all: true, filters: { label } }),
        api.database.sql<{ holder: string }[]>`select holder from leases where name = 'reconciler' and expires_at >= now()`,
      ]);
      // Filed under the phase as it is once the answer is in: a sample read across a change counts for the later phase.
      const phase = state.phase;
      const counts = new Map<string, number>();
      for (const c of containers) {
        const release = c.Labels['pier.release'] ?? '?';
        counts.set(release, (counts.get(release) ?? 0) + 1);
      }
      const peaks = state.peaks.get(phase) ?? new Map<string, number>();
      for (const [release, n] of counts) peaks.set(release, Math.max(peaks.get(release) ?? 0, n));
      state.peaks.set(phase, peaks);
      const holders = state.holders.get(phase) ?? new Set<string>();
      for (const row of lease) holders.add(row.holder);
      state.holders.set(phase, holders);
      state.samples += 1;
      await sleep(100);
    }
  })();
  return state;
}

/** The app's release ids by version. */
async function releaseIds(): Promise<Map<number, string>> {
  const rows = await api.database.sql<{ id: string; version: number }[]>`
    select r.id, r.version from releases r
    join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
    where a.name = ${app} and e.name = 'staging'`;
  return new Map(rows.map((r) => [r.version, r.id]));
}

/** The peaks of a phase by release version (releases not seen are absent). */
async function peaksByVersion(phase: string): Promise<Record<string, number>> {
  const ids = await releaseIds();
  const peaks = watch.peaks.get(phase) ?? new Map<string, number>();
  const byVersion: Record<string, number> = {};
  for (const [release, n] of peaks) {
    const version = [...ids].find(([, id]) => id === release)?.[0];
    byVersion[version === undefined ? release : `v${version}`] = n;
  }
  return byVersion;
}

async function createdOf(version: number): Promise<number> {
  const id = (await releaseIds()).get(version);
  return id ? (watch.created.get(id)?.size ?? 0) : 0;
}

/** This installation's replica containers of a release version now. */
async function containersOf(version: number): Promise<number> {
  const id = (await releaseIds()).get(version);
  return (await docker.listContainers({ 'pier.instance': instance, 'pier.release': id ?? 'none' })).length;
}

// ---------------------------------------------------------------------------------------------------------------

async function push(files: Record<string, string>, message: string): Promise<string> {
  const sha = repo.commit(files, message);
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(fullName, 'refs/heads/main', sha), secret });
  expect(res.statusCode).toBe(202);
  return res.json().deployments[0].id as string;
}

async function responses(): Promise<string[]> {
  return Promise.all((await servingPorts(api, app, 'staging')).map((port) => getText(port)));
}

async function scale(replicas: number): Promise<void> {
  const res = await api.request({ method: 'PATCH', url: `/apps/${app}/environments/staging`, payload: { replicas } });
  expect(res.statusCode).toBe(200);
}

/** Until `version` has exactly `count` serving replicas and containers, and no other release has any container. */
async function settled(version: number, count: number, timeoutMs = 60_000): Promise<void> {
  await until(
    `v${version} alone runs, ${count} serving`,
    async () => {
      const [serving, all, own] = await Promise.all([
        servingPorts(api, app, 'staging'),
        docker.listContainers({ 'pier.instance': instance }),
        containersOf(version),
      ]);
      return serving.length === count && all.length === count && own === count;
    },
    timeoutMs,
    250,
  );
}

/** Answers like versionedApp, but listens only `delayMs` after it starts: its health gate stays pending meanwhile. */
function slowStartingApp(version: string, delayMs: number): Record<string, string> {
  const files = versionedApp(version);
  const listen = 'server.listen(process.env.PORT);';
  const server = files['server.js'] as string;
  if (!server.includes(listen)) throw new Error('versionedApp no longer listens as this test expects');
  return { ...files, 'server.js': server.replace(listen, `setTimeout(() => ${listen.slice(0, -1)}, ${delayMs});`) };
}

describe('two workers of one installation', () => {
  it('one of them runs the replicas: no duplicate start through two rollouts and two scalings', async () => {
    await until('a worker holds the reconciler lease', async () => workers.some((w) => logged(w, LEASE_TAKEN) > 0), 30_000);

    watch.phase = 'v1';
    const v1 = await push(versionedApp('v1'), 'v1');
    const v1Done = await waitForDeployment(api, v1, ['live', 'failed'], 150_000);
    expect(v1Done.state, v1Done.reason).toBe('live');
    await settled(1, 2);
    expect(await responses()).toEqual(['v1', 'v1']);

    watch.phase = 'v2';
    const v2 = await push(versionedApp('v2'), 'v2');
    const v2Done = await waitForDeployment(api, v2, ['live', 'failed'], 150_000);
    expect(v2Done.state, v2Done.reason).toBe('live');
    await settled(2, 2);
    expect(await responses()).toEqual(['v2', 'v2']);

    watch.phase = 'scale-3';
    await scale(3);
    await settled(2, 3);

    watch.phase = 'scale-2';
    await scale(2);
    await settled(2, 2);
    watch.phase = 'idle';

    const deployments = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/deployments` })).json()
      .deployments as { id: string; state: string }[];
    expect(deployments.find((d) => d.id === v2)?.state).toBe('live');
    expect(deployments.find((d) => d.id === v1)?.state).toBe('superseded');

    // Never more containers of a release than its step wants: the new release's replicas, the old ones until drained.
    const peaks = {
      v1: await peaksByVersion('v1'),
      v2: await peaksByVersion('v2'),
      scale3: await peaksByVersion('scale-3'),
      scale2: await peaksByVersion('scale-2'),
    };
    console.log(`two workers: ${watch.samples} samples; peaks per phase ${JSON.stringify(peaks)}`);
    expect(peaks.v1).toEqual({ v1: 2 });
    expect(peaks.v2).toEqual({ v1: 2, v2: 2 });
    expect(peaks.scale3).toEqual({ v2: 3 });
    expect(peaks.scale2).toEqual({ v2: 3 });
    // Every container either worker ever created: two of v1, two of v2 and the one scaling up added.
    expect([await createdOf(1), await createdOf(2)]).toEqual([2, 3]);

    // One worker took the lease, once, and kept it: the other never acted.
    const holders = new Set([...watch.holders.values()].flatMap((set) => [...set]));
    expect([...holders]).toHaveLength(1);
    expect(workers.map((w) => logged(w, LEASE_TAKEN)).sort()).toEqual([0, 1]);
    expect(workers.map((w) => logged(w, LEASE_LOST))).toEqual([0, 0]);
  }, 360_000);

  it('the lease holder killed mid-rollout: the other takes the lease and finishes the rollout', async () => {
    watch.phase = 'v3';
    const v3 = await push(slowStartingApp('v3', 4000), 'v3 listens after 4 s');

    // Mid-rollout: deploying, both v3 replicas started and recorded, their health gates still pending (not listening yet).
    await until(
      'both v3 replicas run',
      async () => {
        const [state] = await api.database.sql<{ state: string; started: number }[]>`
          select d.state, (select count(*)::int from replicas r join releases rel on rel.id = r.release_id
            where rel.environment_id = d.environment_id and rel.version = 3 and r.container_id is not null) as started
          from deployments d where d.id = ${v3}`;
        if (state?.state === 'failed') throw new Error(`v3 failed: ${JSON.stringify(state)}`);
        // More than two is a duplicate start: the checks below say so.
        return state?.state === 'deploying' && state.started >= 2;
      },
      120_000,
      100,
    );
    const [holder] = await api.database.sql<{ holder: string }[]>`
      select holder from leases where name = 'reconciler' and expires_at >= now()`;
    const pid = holderPid(holder?.holder);
    const leader = workers.find((w) => w.child.pid === pid);
    const survivor = workers.find((w) => w !== leader) as RunningProcess;
    expect(leader, `lease holder ${holder?.holder}, workers ${workers.map((w) => w.child.pid)}`).toBeDefined();
    expect(logged(survivor, LEASE_TAKEN)).toBe(0);

    signalGroup(leader as RunningProcess, 'SIGKILL');
    expect(await exitWithin(leader as RunningProcess, 10_000)).toBe('SIGKILL');
    const killedAt = Date.now();
    // The kill came mid-rollout: no switch yet, v2 still serving.
    expect((await waitForDeployment(api, v3, ['deploying', 'live', 'failed'])).state).toBe('deploying');
    expect(await responses()).toEqual(['v2', 'v2']);

    await until('the surviving worker takes the lease', async () => logged(survivor, LEASE_TAKEN) > 0, 40_000, 100);
    const takeoverMs = Date.now() - killedAt;
    console.log(`two workers: lease taken over ${takeoverMs} ms after the holder was killed`);
    const [now] = await api.database.sql<{ holder: string }[]>`select holder from leases where name = 'reconciler'`;
    expect(holderPid(now?.holder)).toBe(survivor.child.pid);
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS + 3000);

    const done = await waitForDeployment(api, v3, ['live', 'failed'], 60_000);
    expect(done.state, done.reason).toBe('live');
    await settled(3, 2);
    watch.phase = 'idle';
    expect(await responses()).toEqual(['v3', 'v3']);
    const status = (await api.request({ method: 'GET', url: `/apps/${app}/environments/staging/status` })).json();
    expect(status.liveRelease.version).toBe(3);

    // The survivor gated the replicas the killed worker started; it started none of its own.
    expect(await peaksByVersion('v3')).toEqual({ v2: 2, v3: 2 });
    expect(await createdOf(3)).toBe(2);
    expect(await containersOf(2)).toBe(0);
    expect(logged(survivor, LEASE_LOST)).toBe(0);
  }, 300_000);
});
