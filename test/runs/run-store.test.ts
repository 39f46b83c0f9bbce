import type { Principal } from '@pier/core';
import { type CronStore, createStores, type RunStore, schema } from '@pier/db';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

/** RunStore against real Postgres: claims, one run per cron slot, forbid, expired locks, retention. */

let api: TestApi;
let runs: RunStore;
let cron: CronStore;
let appId: string;
let environmentId: string;
const ADMIN: Principal = { role: 'admin', tokenId: null };

beforeAll(async () => {
  api = await createTestApi();
  const stores = createStores(api.database.db, api.box);
  runs = stores.runs;
  cron = stores.cron;
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'store' } })).statusCode).toBe(201);
  const app = await stores.apps.get(ADMIN, 'store');
  appId = app.id;
  environmentId = (await stores.environments.get(app.id, 'staging')).id;
});
afterAll(async () => api?.close());

async function clear() {
  await api.database.db.delete(schema.runs);
}

const oneOff = (command: string) => ({ appId, environmentId, kind: 'run' as const, command, timeoutSeconds: 60, startedBy: 't' });
const slotOf = (cronName: string, slot: string, concurrency: 'forbid' | 'allow' = 'forbid') => ({
  appId,
  environmentId,
  cronName,
  slot: new Date(slot),
  command: 'date',
  timeoutSeconds: 60,
  concurrency,
});

describe('RunStore', () => {
  it('claims each queued run once, oldest first, however many claim at once', async () => {
    await clear();
    const a = await runs.create(oneOff('a'));
    const b = await runs.create(oneOff('b'));
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => runs.claim(`worker-${i}`, 30_000)));
    const claimed = claims.filter((c) => c !== null);
    expect(claimed.map((c) => c.id).sort()).toEqual([a.id, b.id].sort());
    expect(claimed.every((c) => c.state === 'running' && c.lockedBy?.startsWith('worker-') && c.startedAt)).toBe(true);
    expect(await runs.claim('late', 30_000)).toBeNull();
  });

  it('skips a queued run another transaction has locked, and claims the next', async () => {
    await clear();
    const locked = await runs.create(oneOff('locked'));
    const free = await runs.create(oneOff('free'));
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let lockTaken!: () => void;
    const taken = new Promise<void>((resolve) => {
      lockTaken = resolve;
    });
    const holder = api.database.db.transaction(async (tx) => {
      await tx.execute(sql`select id from runs where id = ${locked.id} for update`);
      lockTaken();
      await held;
    });
    await taken;
    const claimed = await runs.claim('w', 30_000);
    release();
    await holder;
    expect(claimed?.id).toBe(free.id);
    expect((await runs.claim('w', 30_000))?.id).toBe(locked.id);
  });

  it('records a cron slot once however many schedulers try; the next slot is skipped under forbid while one runs', async () => {
    await clear();
    const tries = await Promise.all(Array.from({ length: 8 }, () => runs.recordCronSlot(slotOf('tick', '2026-05-01T12:01:00Z'))));
    const recorded = tries.filter((t) => t !== null);
    expect(recorded.map((r) => r.state)).toEqual(['queued']);
    await runs.claim('w', 30_000);
    const next = await runs.recordCronSlot(slotOf('tick', '2026-05-01T12:02:00Z'));
    expect(next).toMatchObject({
      state: 'skipped',
      reason: expect.stringContaining('2026-05-01T12:01:00.000Z was still running'),
    });
    expect(next?.finishedAt).toBeInstanceOf(Date);
    // allow: runs may overlap.
    expect(await runs.recordCronSlot(slotOf('tick', '2026-05-01T12:03:00Z', 'allow'))).toMatchObject({ state: 'queued' });
    expect((await runs.lastCronSlots(environmentId)).get('tick')?.toISOString()).toBe('2026-05-01T12:03:00.000Z');
    expect((await runs.lastCronRuns(environmentId)).get('tick')?.slot?.toISOString()).toBe('2026-05-01T12:03:00.000Z');
  });

  it('queues one run under forbid when schedulers record different slots of a job at once (the others are skipped or superseded)', async () => {
    for (let round = 0; round < 10; round++) {
      await clear();
      const slots = Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2026, 4, 1, 12, i)).toISOString());
      // Newest first: each later slot is older, so none supersedes a queued one; only the lock keeps them apart.
      await Promise.all(slots.reverse().map((slot) => runs.recordCronSlot(slotOf('race', slot))));
      const left = await runs.list(environmentId, { cronName: 'race' });
      expect(left).toHaveLength(10);
      expect(left.filter((r) => r.state === 'queued')).toHaveLength(1);
    }
  });

  it('after an outage, a queued run of an old slot is superseded by the latest slot under forbid; a started one is not', async () => {
    await clear();
    const old = await runs.recordCronSlot(slotOf('late', '2026-05-01T12:00:00Z'));
    const latest = await runs.recordCronSlot(slotOf('late', '2026-05-01T15:00:00Z'));
    expect(latest).toMatchObject({ state: 'queued' });
    expect(await runs.get(old?.id as string)).toMatchObject({
      state: 'cancelled',
      reason: 'superseded by the run of 2026-05-01T15:00:00.000Z',
    });
    expect((await runs.claim('w', 30_000))?.id).toBe(latest?.id);
    // Started: the next slot is skipped while it runs, not superseding it.
    expect(await runs.recordCronSlot(slotOf('late', '2026-05-01T16:00:00Z'))).toMatchObject({ state: 'skipped' });
    expect((await runs.get(latest?.id as string)).state).toBe('running');
  });

  it('fails a running run whose lock ran out; its worker then cannot renew or finish it', async () => {
    await clear();
    const run = await runs.create(oneOff('sleep'));
    await runs.claim('dead-worker', 30_000);
    expect(await runs.renew(run.id, 'other', 30_000)).toBe(false);
    await api.database.db
      .update(schema.runs)
      .set({ lockedUntil: new Date(Date.now() - 1000) })
      .where(eq(schema.runs.id, run.id));
    const expired = await runs.failExpired('the worker running it stopped answering');
    expect(expired.map((r) => r.id)).toEqual([run.id]);
    expect(await runs.renew(run.id, 'dead-worker', 30_000)).toBe(false);
    expect(await runs.finish(run.id, { state: 'succeeded', exitCode: 0 }, 'dead-worker')).toBe(false);
    expect(await runs.get(run.id)).toMatchObject({ state: 'failed', reason: 'the worker running it stopped answering' });
  });

  it('holds a run by the clock of Postgres: a worker whose clock is an hour behind renews a lock others do not see as run out', async () => {
    await clear();
    const run = await runs.create(oneOff('slow-clock'));
    await runs.claim('behind', 30_000);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() - 3600_000);
      expect(await runs.renew(run.id, 'behind', 30_000)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect(await runs.failExpired('expired')).toEqual([]);
    expect((await runs.get(run.id)).state).toBe('running');
    const [{ left }] = (await api.database.db.execute(
      sql`select extract(epoch from locked_until - now()) as left from runs where id = ${run.id}`,
    )) as unknown as [{ left: string }];
    expect(Number(left)).toBeGreaterThan(20);
    expect(Number(left)).toBeLessThanOrEqual(30);
  });

  it('cancels a queued run at once and marks a running one for its worker', async () => {
    await clear();
    const queued = await runs.create(oneOff('q'));
    expect(await runs.requestCancel(queued.id)).toMatchObject({ state: 'cancelled' });
    const running = await runs.create(oneOff('r'));
    await runs.claim('w', 30_000);
    const marked = await runs.requestCancel(running.id);
    expect(marked.state).toBe('running');
    expect(marked.cancelRequestedAt).toBeInstanceOf(Date);
  });

  it('keeps a command as it was given, also a string that reads as JSON (true, 42, null, "x")', async () => {
    await clear();
    for (const command of ['true', '42', 'null', '"x"', 'echo hi', ['node', '-e', '1']]) {
      const created = await runs.create({ ...oneOff('x'), command });
      expect([created.command, (await runs.get(created.id)).command]).toEqual([command, command]);
    }
    const { job } = await cron.put(environmentId, { name: 'flag', schedule: '@daily', command: 'true' });
    expect(job.command).toBe('true');
    expect((await cron.jobs(environmentId)).find((j) => j.name === 'flag')?.command).toBe('true');
    await cron.delete(environmentId, 'flag');
  });

  it('keeps the newest runs of each kind and job, and never deletes a queued or running one', async () => {
    await clear();
    for (let i = 0; i < 4; i++) {
      const r = await runs.create(oneOff(`old-${i}`));
      await runs.finish(r.id, { state: 'succeeded', exitCode: 0 });
    }
    const active = await runs.create(oneOff('active'));
    for (let i = 0; i < 3; i++) {
      const r = await runs.recordCronSlot(slotOf('job', `2026-05-01T12:0${i}:00Z`, 'allow'));
      await runs.finish(r?.id as string, { state: 'failed', exitCode: 1 });
    }
    await runs.appendLines(active.id, [{ stream: 'stdout', line: 'kept' }]);
    expect(await runs.deleteOld(2, 100)).toBe(3 + 1);
    const left = await runs.list(environmentId);
    expect(left.filter((r) => r.kind === 'run').map((r) => r.command)).toEqual(['active', 'old-3']);
    expect(left.filter((r) => r.kind === 'cron')).toHaveLength(2);
    expect((await runs.lines(active.id)).map((l) => l.line)).toEqual(['kept']);
  });

  it('keeps the newest slotted run of a cron job when runs by hand fill its retention, so its last slot is not run again', async () => {
    await clear();
    const slotted = await runs.recordCronSlot(slotOf('hand', '2026-05-01T12:00:00Z', 'allow'));
    await runs.finish(slotted?.id as string, { state: 'succeeded', exitCode: 0 });
    for (let i = 0; i < 3; i++) {
      const r = await runs.create({ ...oneOff(`by-hand-${i}`), kind: 'cron', cronName: 'hand' });
      await runs.finish(r.id, { state: 'succeeded', exitCode: 0 });
    }
    expect(await runs.deleteOld(2, 100)).toBe(1);
    const left = await runs.list(environmentId, { cronName: 'hand' });
    expect(left.map((r) => r.command)).toEqual(['by-hand-2', 'by-hand-1', 'date']);
    expect((await runs.lastCronSlots(environmentId)).get('hand')?.toISOString()).toBe('2026-05-01T12:00:00.000Z');
  });
});
