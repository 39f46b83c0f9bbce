import type { Principal } from '@pier/core';
import { createStores, schema } from '@pier/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';
import { makeLive } from '../support/live-release.ts';

/**
 * The runs and cron API without a worker: what it stores and refuses. The
 * runs themselves are started by the worker (test/runs/cron-and-runs.test.ts).
 */

let api: TestApi;
let stores: ReturnType<typeof createStores>;
const ADMIN: Principal = { role: 'admin', tokenId: null };

beforeAll(async () => {
  api = await createTestApi();
  stores = createStores(api.database.db, api.box);
});
afterAll(async () => api?.close());

async function appWithLiveStaging(name: string, cron: object[] = []) {
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  const app = await stores.apps.get(ADMIN, name);
  const env = await stores.environments.get(app.id, 'staging');
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: `sha256:live-${name}`,
    imageRef: `pier/${name}:latest`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
  });
  await api.database.db.update(schema.releases).set({ cron }).where(eq(schema.releases.id, release.id));
  await makeLive(api.database.db, env.id, release.id, []);
  return { app, env, release };
}

describe('POST …/runs', () => {
  it('queues a run of the live release, recorded with the name of the token that asked', async () => {
    await appWithLiveStaging('runner');
    const token = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci-bot', app: 'runner' } })).json();
    const res = await api.request({
      method: 'POST',
      url: '/apps/runner/environments/staging/runs',
      payload: { command: ['python', 'manage.py', 'migrate'], timeoutSeconds: 30, memoryMb: 256 },
      token: token.token,
    });
    expect(res.statusCode).toBe(202);
    const run = res.json();
    expect(run).toMatchObject({
      kind: 'run',
      state: 'queued',
      release: 1,
      command: ['python', 'manage.py', 'migrate'],
      startedBy: 'ci-bot',
      timeoutSeconds: 30,
      memoryMb: 256,
      exitCode: null,
    });
    const shown = await api.request({ method: 'GET', url: `/apps/runner/environments/staging/runs/${run.id}` });
    expect(shown.json()).toMatchObject({ id: run.id, state: 'queued' });
    const list = await api.request({ method: 'GET', url: '/apps/runner/environments/staging/runs' });
    expect(list.json().runs.map((r: { id: string }) => r.id)).toEqual([run.id]);

    const cancelled = await api.request({ method: 'POST', url: `/apps/runner/environments/staging/runs/${run.id}/cancel` });
    expect(cancelled.json()).toMatchObject({ state: 'cancelled', reason: 'cancelled before it started' });
    const history = await api.request({ method: 'GET', url: `/apps/runner/environments/staging/runs/${run.id}/output?follow=0` });
    expect(history.json()).toEqual({ lines: [] });
  });

  it('refuses an environment with nothing deployed (409) and a release it does not have (404)', async () => {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'empty' } })).statusCode).toBe(201);
    const none = await api.request({ method: 'POST', url: '/apps/empty/environments/staging/runs', payload: { command: 'ls' } });
    expectError(none, 409, 'conflict', 'empty/staging has no live release to run it in');
    await appWithLiveStaging('versions');
    const missing = await api.request({
      method: 'POST',
      url: '/apps/versions/environments/staging/runs',
      payload: { command: 'ls', release: 7 },
    });
    expectError(missing, 404, 'not_found', 'release v7');
  });

  it.each([
    [{ command: 42 }, 'body.command'],
    [{ command: '' }, 'body.command'],
    [{ command: [] }, 'body.command'],
    [{ command: ['ls', 3] }, 'body.command'],
    [{}, 'body.command'],
    [{ command: 'ls', timeoutSeconds: 0 }, 'body.timeoutSeconds'],
    [{ command: 'ls', timeoutSeconds: 86_401 }, 'body.timeoutSeconds'],
    [{ command: 'ls', memoryMb: 4 }, 'body.memoryMb'],
    [{ command: 'ls', cpus: 0 }, 'body.cpus'],
    [{ command: 'ls', release: 1, releaseId: '00000000-0000-4000-8000-000000000000' }, 'body.release'],
  ])('refuses %o naming %s, storing nothing', async (payload, field) => {
    if (!(await stores.apps.list(ADMIN)).some((a) => a.name === 'strict')) await appWithLiveStaging('strict');
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'POST', url: '/apps/strict/environments/staging/runs', payload });
    expectError(res, 422, 'validation_failed', field);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });
});

describe('cron jobs through the API', () => {
  it('PUT creates (201) and replaces (200); GET lists them with the pier.json ones, an API job winning by name', async () => {
    await appWithLiveStaging('clock', [
      { name: 'report', schedule: '0 6 * * *', command: 'node report.js' },
      { name: 'cleanup', schedule: '@hourly', command: ['node', 'cleanup.js'], concurrency: 'allow' },
    ]);
    const url = '/apps/clock/environments/staging/cron';
    const created = await api.request({
      method: 'PUT',
      url: `${url}/nightly`,
      payload: { schedule: '0 3 * * *', command: 'echo hi' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      name: 'nightly',
      source: 'api',
      concurrency: 'forbid',
      timeoutSeconds: 3600,
      lastRun: null,
    });
    const replaced = await api.request({
      method: 'PUT',
      url: `${url}/report`,
      payload: {
        schedule: '30 7 * * 1-5',
        command: ['node', 'report.js', '--weekday'],
        timeZone: 'Europe/Berlin',
        timeoutSeconds: 60,
      },
    });
    expect(replaced.statusCode).toBe(201);
    const again = await api.request({
      method: 'PUT',
      url: `${url}/nightly`,
      payload: { schedule: '0 4 * * *', command: 'echo hi' },
    });
    expect(again.statusCode).toBe(200);

    const jobs = (await api.request({ method: 'GET', url })).json().jobs;
    expect(jobs.map((j: { name: string; source: string; schedule: string }) => [j.name, j.source, j.schedule])).toEqual([
      ['cleanup', 'pier.json', '@hourly'],
      ['nightly', 'api', '0 4 * * *'],
      ['report', 'api', '30 7 * * 1-5'],
    ]);
    const report = jobs.find((j: { name: string }) => j.name === 'report');
    expect(report).toMatchObject({ timeZone: 'Europe/Berlin', timeoutSeconds: 60 });
    // 07:30 in Berlin is 05:30 or 06:30 UTC, on a weekday.
    expect(report.nextRunAt).toMatch(/T0[56]:30:00\.000Z$/);

    // A pier.json job is not deleted here; an API one is, and the pier.json one of its name shows again.
    expectError(await api.request({ method: 'DELETE', url: `${url}/cleanup` }), 409, 'conflict', 'remove it there');
    expect((await api.request({ method: 'DELETE', url: `${url}/report` })).statusCode).toBe(204);
    expectError(await api.request({ method: 'DELETE', url: `${url}/missing` }), 404, 'not_found', 'cron job missing');
    const after = (await api.request({ method: 'GET', url })).json().jobs;
    expect(after.find((j: { name: string }) => j.name === 'report')).toMatchObject({
      source: 'pier.json',
      schedule: '0 6 * * *',
    });
  });

  it('GET lists a pier.json job whose time zone Pier cannot read with its problem, beside the others', async () => {
    // Kept by a release made before pier.json's timeZone was checked.
    await appWithLiveStaging('zones', [
      { name: 'good', schedule: '@daily', command: 'true' },
      { name: 'mars', schedule: '@daily', command: 'true', timeZone: 'Mars/Olympus' },
    ]);
    const res = await api.request({ method: 'GET', url: '/apps/zones/environments/staging/cron' });
    expect(res.statusCode).toBe(200);
    const jobs = res.json().jobs;
    expect(jobs.find((j: { name: string }) => j.name === 'good')).toMatchObject({ problem: null, nextRunAt: expect.any(String) });
    expect(jobs.find((j: { name: string }) => j.name === 'mars')).toMatchObject({
      nextRunAt: null,
      problem: expect.stringContaining('"Mars/Olympus" is not a known IANA time zone'),
    });
  });

  it('POST …/run queues a run now (no slot), listed under the job and shown in the status as its last run', async () => {
    await appWithLiveStaging('manual', [{ name: 'tick', schedule: '* * * * *', command: 'date' }]);
    const res = await api.request({ method: 'POST', url: '/apps/manual/environments/staging/cron/tick/run' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      kind: 'cron',
      cron: 'tick',
      slot: null,
      state: 'queued',
      startedBy: 'admin',
      command: 'date',
    });
    const runs = (await api.request({ method: 'GET', url: '/apps/manual/environments/staging/cron/tick/runs' })).json().runs;
    expect(runs.map((r: { id: string }) => r.id)).toEqual([res.json().id]);
    const status = (await api.request({ method: 'GET', url: '/apps/manual/environments/staging/status' })).json();
    expect(status.cron).toEqual([{ name: 'tick', source: 'pier.json', lastRun: expect.objectContaining({ state: 'queued' }) }]);
    expectError(await api.request({ method: 'POST', url: '/apps/manual/environments/staging/cron/nope/run' }), 404, 'not_found');
  });

  it('POST …/run of a forbid job is refused (409) while a run of it is queued or running; an allow job runs again', async () => {
    const { env } = await appWithLiveStaging('busy', [
      { name: 'once', schedule: '0 * * * *', command: 'date' },
      { name: 'many', schedule: '0 * * * *', command: 'date', concurrency: 'allow' },
    ]);
    const queued = await stores.runs.recordCronSlot({
      appId: env.appId,
      environmentId: env.id,
      cronName: 'once',
      slot: new Date('2026-05-01T12:00:00Z'),
      command: 'date',
      timeoutSeconds: 60,
      concurrency: 'forbid',
    });
    const url = '/apps/busy/environments/staging/cron';
    const before = await snapshotState(api.database.sql);
    expectError(
      await api.request({ method: 'POST', url: `${url}/once/run` }),
      409,
      'conflict',
      'the run of 2026-05-01T12:00:00.000Z is still running',
    );
    expect(await snapshotState(api.database.sql)).toEqual(before);
    expect((await api.request({ method: 'POST', url: `${url}/many/run` })).statusCode).toBe(202);
    expect((await api.request({ method: 'POST', url: `${url}/many/run` })).statusCode).toBe(202);
    await stores.runs.finish(queued?.id as string, { state: 'succeeded', exitCode: 0 });
    expect((await api.request({ method: 'POST', url: `${url}/once/run` })).statusCode).toBe(202);
  });

  it.each([
    [{ schedule: '61 * * * *', command: 'ls' }, 'body.schedule', 'minute field "61" is out of range 0-59'],
    [{ schedule: '* * *', command: 'ls' }, 'body.schedule', 'must have 5 fields'],
    [{ schedule: '* * * * *', command: 'ls', timeZone: 'Mars/Olympus' }, 'body.timeZone', 'not a known IANA time zone'],
    [{ schedule: '* * * * *', command: { run: 'ls' } }, 'body.command', 'body.command'],
    [{ schedule: '* * * * *', command: 'ls', timeoutSeconds: 100_000 }, 'body.timeoutSeconds', 'body.timeoutSeconds'],
    [{ schedule: '* * * * *', command: 'ls', concurrency: 'replace' }, 'body.concurrency', 'body.concurrency'],
  ])('refuses %o naming %s, storing nothing', async (payload, field, message) => {
    if (!(await stores.apps.list(ADMIN)).some((a) => a.name === 'strict-cron')) await appWithLiveStaging('strict-cron');
    const before = await snapshotState(api.database.sql);
    const res = await api.request({ method: 'PUT', url: '/apps/strict-cron/environments/staging/cron/job', payload });
    const text = expectError(res, 422, 'validation_failed', message);
    expect(text).toContain(field);
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });
});
