import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASK } from '@pier/core';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, getText, removeAppFromDocker, servingPorts, waitForDeployment } from '../support/deploy-app.ts';
import { exitWithin, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { serviceApp } from '../support/service-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { workerProcessEnv } from '../support/worker-process.ts';

/**
 * Issue 13, "Done means", cron and one-off runs, through the real processes:
 * the api (in process, inject), TWO real worker processes of one
 * installation, real Docker and a real linked Postgres. A cron job every
 * minute writes a row into the linked Postgres once per slot with both
 * workers scheduling; a job that runs longer than its interval is skipped
 * under forbid, not doubled; run now works; a failing job keeps its exit code
 * and output; `POST …/runs` streams a command's output and exit code over
 * SSE, masks the environment's secrets, and a command past its limit is
 * stopped.
 */

const run = randomBytes(3).toString('hex');
const app = `cron-${run}`;
const db = `crondb-${run}`;
const instance = `cron-${run}`;
const secretKey = randomBytes(32);
const docker = new DockerRuntime();
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-cron-work-'));
const workers: RunningProcess[] = [];
const SECRET = `s3cret-${randomBytes(8).toString('hex')}`;
const env = `/apps/${app}/environments/staging`;

/** Inserts `<label>-<HH:MM of now, UTC>` into the linked Postgres. */
const TICK = `
const postgres = require('./pg/index.js');
const sql = postgres(process.env.DATABASE_URL, { max: 1, connect_timeout: 5 });
const value = process.argv[2] + '-' + new Date().toISOString().slice(11, 16);
(async () => {
  await sql\`create table if not exists items (id serial primary key, value text not null)\`;
  await sql\`insert into items (value) values (\${value})\`;
  console.log('wrote ' + value);
  await sql.end();
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

let api: TestApi;
let repo: TestGitRepository;

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  repo = new TestGitRepository();
  const secret = await createFastApp(api, {
    name: app,
    fullName: `acme/${app}`,
    cloneUrl: repo.url,
    replicas: 1,
    drainTimeoutMs: 500,
  });
  await Promise.all([startWorkerProcess(), startWorkerProcess()]);
  expect((await api.request({ method: 'POST', url: '/services', payload: { type: 'postgres', name: db } })).statusCode).toBe(202);
  await until(
    `${db} is ready`,
    async () => {
      const service = (await api.request({ method: 'GET', url: `/services/${db}` })).json();
      if (service.state === 'failed') throw new Error(`${db} failed: ${service.lastError}`);
      return service.state === 'ready';
    },
    120_000,
  );
  const link = await api.request({ method: 'POST', url: `${env}/links`, payload: { service: db } });
  expect(link.statusCode, link.body).toBeLessThan(300);
  const vars = await api.request({ method: 'PATCH', url: `${env}/variables`, payload: { set: { API_SECRET: SECRET } } });
  expect(vars.statusCode, vars.body).toBe(200);
  const sha = repo.commit({ ...serviceApp(), 'tick.js': TICK }, 'cron app');
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha), secret });
  expect(res.statusCode, res.body).toBe(202);
  const done = await waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed'], 240_000);
  expect(done.state, done.reason).toBe('live');
}, 400_000);

afterAll(async () => {
  for (const worker of workers) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) continue;
    signalGroup(worker, 'SIGTERM');
    await exitWithin(worker, 30_000).catch(() => {
      signalGroup(worker, 'SIGKILL');
      return worker.exited;
    });
  }
  for (const c of await docker.listContainers({ 'pier.instance': instance }).catch(() => [])) {
    await docker.removeContainer(c.id).catch(() => {});
  }
  await removeAppFromDocker(docker, app);
  await docker.removeNetwork(`pier-svc-${db}`).catch(() => {});
  const volumes = (await docker.docker.listVolumes({ filters: { label: ['pier.app=@services'] } })).Volumes ?? [];
  for (const volume of volumes)
    if (volume.Name.startsWith(`pier-svc-${db}-`)) await docker.removeVolume(volume.Name).catch(() => {});
  await api?.close();
  repo?.remove();
  rmSync(workDirectory, { recursive: true, force: true });
}, 120_000);

async function startWorkerProcess(): Promise<void> {
  const worker = startScript(
    'apps/worker/src/main.ts',
    workerProcessEnv(
      { databaseUrl: api.database.url, secretKey, workDirectory },
      { PIER_QUEUE_PREFIX: `pier-cron-${run}`, PIER_INSTANCE: instance },
    ),
  );
  workers.push(worker);
  await until(
    'the worker has started',
    async () => {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
      return worker.output().includes('"msg":"worker started"');
    },
    120_000,
  );
}

/** Polls `check` every 500 ms until it holds (expect.poll is for tests only, not beforeAll). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The JSON log entries of a worker with this message. */
function logged(worker: RunningProcess, msg: string): Record<string, unknown>[] {
  return worker
    .output()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>);
}

interface RunView {
  id: string;
  state: string;
  slot: string | null;
  exitCode: number | null;
  reason: string | null;
  startedBy: string;
  durationMs: number | null;
}

async function runsOf(job: string): Promise<RunView[]> {
  return (await api.request({ method: 'GET', url: `${env}/cron/${job}/runs` })).json().runs;
}

async function runEnded(id: string, timeoutMs = 60_000): Promise<RunView> {
  let view: RunView | undefined;
  await expect
    .poll(
      async () => {
        view = (await api.request({ method: 'GET', url: `${env}/runs/${id}` })).json();
        return ['succeeded', 'failed', 'cancelled'].includes(view?.state ?? '');
      },
      { timeout: timeoutMs, interval: 300 },
    )
    .toBe(true);
  return view as RunView;
}

async function outputOf(id: string): Promise<string[]> {
  const res = await api.request({ method: 'GET', url: `${env}/runs/${id}/output?follow=0` });
  return res.json().lines.map((l: { line: string }) => l.line);
}

/** The SSE events of a run's output, read through a real socket until `end`. */
async function streamOf(id: string): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => null);
  const base = address ?? `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
  const res = await fetch(`${base}${env}/runs/${id}/output`, {
    headers: { authorization: `Bearer ${api.adminToken}` },
    signal: AbortSignal.timeout(60_000),
  });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('event: '))
    .map((block) => ({
      event: /event: (\w+)/.exec(block)?.[1] ?? '',
      data: JSON.parse(/data: (.*)/.exec(block)?.[1] ?? '{}'),
    }));
}

describe('one-off runs', () => {
  it('POST …/runs streams the command’s output (secrets masked) and its exit code over SSE', async () => {
    const res = await api.request({
      method: 'POST',
      url: `${env}/runs`,
      payload: { command: 'echo "answer $((6 * 7))"; echo "secret is $API_SECRET"; echo "to stderr" >&2; exit 4' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const events = await streamOf(res.json().id);
    const lines = events.filter((e) => e.event === 'line').map((e) => e.data.line);
    expect(lines).toContain('answer 42');
    expect(lines).toContain('to stderr');
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines).toContain(`secret is ${MASK}`);
    expect(events.at(-1)).toEqual({
      event: 'end',
      data: { state: 'failed', exitCode: 4, reason: expect.stringContaining('exited with code 4') },
    });
    const view = await runEnded(res.json().id);
    expect(view).toMatchObject({ startedBy: 'admin', exitCode: 4 });
    expect(view.durationMs).toBeGreaterThan(0);
  }, 90_000);

  it('an argument list runs as it is; a command past its time limit is stopped and the run failed with the reason', async () => {
    const list = await api.request({
      method: 'POST',
      url: `${env}/runs`,
      payload: { command: ['node', '-e', 'console.log(6*7)'] },
    });
    expect(list.statusCode, list.body).toBe(202);
    expect(await runEnded(list.json().id)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(await outputOf(list.json().id)).toContain('42');

    const res = await api.request({ method: 'POST', url: `${env}/runs`, payload: { command: 'sleep 600', timeoutSeconds: 3 } });
    const started = Date.now();
    const view = await runEnded(res.json().id, 60_000);
    expect(view).toMatchObject({ state: 'failed', reason: 'did not finish within 3 s: stopped' });
    // 3 s, then SIGTERM and at most the 10 s grace: far from 600 s.
    expect(Date.now() - started).toBeLessThan(40_000);
    expect(await docker.listContainers({ 'pier.run': res.json().id })).toEqual([]);
  }, 90_000);

  it('a run whose memory limit the host cannot hold is refused by the capacity guard with the figures; the limits a run gets are recorded', async () => {
    const big = await api.request({ method: 'POST', url: `${env}/runs`, payload: { command: 'true', memoryMb: 1_048_576 } });
    const refused = await runEnded(big.json().id);
    expect(refused).toMatchObject({ state: 'failed', exitCode: null });
    expect(refused.reason).toMatch(
      /^not enough capacity: a one-off run \(1048576 MiB\) reserves 1024\.0 GiB of memory, but .* is left/,
    );
    expect(await docker.listContainers({ 'pier.run': big.json().id })).toEqual([]);
    const small = await api.request({
      method: 'POST',
      url: `${env}/runs`,
      payload: { command: 'true', memoryMb: 64, cpus: 0.5 },
    });
    expect(await runEnded(small.json().id)).toMatchObject({ state: 'succeeded', memoryMb: 64, cpus: 0.5 });
    const plain = await api.request({ method: 'POST', url: `${env}/runs`, payload: { command: 'true' } });
    // The web type's limits when the run asks for none: here the defaults.
    expect(await runEnded(plain.json().id)).toMatchObject({ state: 'succeeded', memoryMb: 512, cpus: 1 });
  }, 90_000);

  it('a cancel stops a running command (SIGTERM, then SIGKILL after the grace)', async () => {
    const res = await api.request({ method: 'POST', url: `${env}/runs`, payload: { command: 'sleep 600' } });
    const id = res.json().id as string;
    await expect
      .poll(async () => (await docker.listContainers({ 'pier.run': id })).length, { timeout: 30_000, interval: 300 })
      .toBe(1);
    const cancel = await api.request({ method: 'POST', url: `${env}/runs/${id}/cancel` });
    expect(cancel.statusCode).toBe(202);
    expect(await runEnded(id, 40_000)).toMatchObject({ state: 'cancelled', reason: expect.stringContaining('cancelled after') });
    expect(await docker.listContainers({ 'pier.run': id })).toEqual([]);
  }, 90_000);
});

describe('cron jobs with two workers', () => {
  it('runs once per slot, skips a slot while a long run still runs (forbid), runs now, and keeps a failure’s exit code and output', async () => {
    const put = (name: string, payload: object) => api.request({ method: 'PUT', url: `${env}/cron/${name}`, payload });
    expect((await put('tick', { schedule: '* * * * *', command: 'node tick.js tick' })).statusCode).toBe(201);
    expect((await put('slow', { schedule: '* * * * *', command: 'sleep 70' })).statusCode).toBe(201);
    expect((await put('manual', { schedule: '0 0 1 1 *', command: ['node', 'tick.js', 'manual'] })).statusCode).toBe(201);
    expect((await put('fail', { schedule: '0 0 1 1 *', command: 'echo boom >&2; exit 3' })).statusCode).toBe(201);

    // Run now, and a failing job.
    const now = await api.request({ method: 'POST', url: `${env}/cron/manual/run` });
    expect(now.statusCode, now.body).toBe(202);
    expect(await runEnded(now.json().id)).toMatchObject({ state: 'succeeded', exitCode: 0, slot: null, startedBy: 'admin' });
    const failing = await api.request({ method: 'POST', url: `${env}/cron/fail/run` });
    const failed = await runEnded(failing.json().id);
    expect(failed).toMatchObject({ state: 'failed', exitCode: 3, reason: expect.stringContaining('exited with code 3') });
    expect(await outputOf(failed.id)).toContain('boom');

    // Two slots of `tick` have run; `slow`'s second slot came while its first still ran.
    await expect
      .poll(
        async () => {
          const ticks = (await runsOf('tick')).filter((r) => r.state === 'succeeded');
          const skipped = (await runsOf('slow')).filter((r) => r.state === 'skipped');
          return ticks.length >= 2 && skipped.length >= 1;
        },
        { timeout: 150_000, interval: 1000 },
      )
      .toBe(true);
    const slow = await runsOf('slow');
    const skipped = slow.find((r) => r.state === 'skipped');
    expect(skipped?.reason).toMatch(/the run of .* was still running \(concurrency: forbid\)/);
    // Never two runs of one slot, and never two of `slow` at once.
    expect(new Set(slow.map((r) => r.slot)).size).toBe(slow.length);
    expect(slow.filter((r) => r.state === 'running').length).toBeLessThanOrEqual(1);
    expect(await docker.listContainers({ 'pier.app': app, 'pier.role': 'cron' }).then((c) => c.length)).toBeLessThanOrEqual(2);

    // Each run that ended was started by exactly one of the two workers (their 'run started' log lines).
    const started = workers.flatMap((w) => logged(w, 'run started').map((entry) => entry.runId));
    const ended = [...(await runsOf('tick')), ...slow].filter((r) => r.state === 'succeeded' || r.state === 'failed');
    expect(ended.length).toBeGreaterThanOrEqual(2);
    for (const r of ended) expect(started.filter((id) => id === r.id)).toHaveLength(1);

    // The linked Postgres has one row per slot of `tick` (with two workers scheduling), and the run-now row.
    const succeeded = (await runsOf('tick')).filter((r) => r.state === 'succeeded').length;
    const [port] = await servingPorts(api, app, 'staging');
    const rows = (await getText(port as number, '/pg/read')).split(',');
    const recorded = (await runsOf('tick')).filter((r) => r.state !== 'skipped').length;
    const tickRows = rows.filter((v) => v.startsWith('tick-'));
    expect(tickRows.length).toBeGreaterThanOrEqual(succeeded);
    expect(tickRows.length).toBeLessThanOrEqual(recorded);
    expect(new Set(tickRows).size).toBe(tickRows.length);
    expect(rows.filter((v) => v.startsWith('manual-'))).toHaveLength(1);

    // The environment's status and the job list show each job's last run.
    const status = (await api.request({ method: 'GET', url: `${env}/status` })).json();
    expect(status.cron.find((j: { name: string }) => j.name === 'fail').lastRun).toMatchObject({ state: 'failed', exitCode: 3 });
    const jobs = (await api.request({ method: 'GET', url: `${env}/cron` })).json().jobs;
    expect(jobs.find((j: { name: string }) => j.name === 'tick').lastRun.state).toMatch(/queued|running|succeeded/);
    for (const name of ['tick', 'slow', 'manual', 'fail']) {
      expect((await api.request({ method: 'DELETE', url: `${env}/cron/${name}` })).statusCode).toBe(204);
    }
  }, 240_000);
});

describe('a worker that dies during a run', () => {
  it('has its run failed by the other worker once its lock runs out, and the run’s container removed', async () => {
    const res = await api.request({ method: 'POST', url: `${env}/runs`, payload: { command: 'sleep 600' } });
    const id = res.json().id as string;
    let holder: RunningProcess | undefined;
    await expect
      .poll(
        () => {
          holder = workers.find((w) => logged(w, 'run started').some((entry) => entry.runId === id));
          return holder !== undefined;
        },
        { timeout: 30_000, interval: 300 },
      )
      .toBe(true);
    await expect
      .poll(async () => (await docker.listContainers({ 'pier.run': id })).length, { timeout: 30_000, interval: 300 })
      .toBe(1);
    signalGroup(holder as RunningProcess, 'SIGKILL');
    await (holder as RunningProcess).exited;
    // The lock (30 s, renewed every 10 s) runs out, then the survivor's next pass (5 s) fails the run.
    const view = await runEnded(id, 60_000);
    expect(view).toMatchObject({ state: 'failed', reason: 'the worker running it stopped answering; its container was removed' });
    await expect
      .poll(async () => (await docker.listContainers({ 'pier.run': id })).length, { timeout: 15_000, interval: 300 })
      .toBe(0);
  }, 120_000);
});
