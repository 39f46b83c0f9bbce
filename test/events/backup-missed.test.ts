import { nextCronTime, parseCron } from '@pier/core';
import { createStores } from '@pier/db';
import { DockerRuntime } from '@pier/docker';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissedSlotWatch } from '../../apps/worker/src/events/missed-slot-watch.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * The dead man's switch over a real worker that was stopped: a volume backs
 * up every minute; the worker (its volume operator and its missed-slot watch,
 * which starts watching the schedule) runs, then stops; once a slot has
 * passed with no worker to take it, the watch's next look records
 * `backup.missed` for that slot, once.
 */

let api: TestApi;
let worker: TestWorker | undefined;
const app = `pmiss-${Date.now().toString(36)}`;
const GRACE_MS = 3000;

beforeAll(async () => {
  api = await createTestApi();
  const repository = { fullName: `acme/${app}`, cloneUrl: `https://git.example.invalid/acme/${app}.git` };
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: app, repository } })).statusCode).toBe(201);
  const volume = await api.request({
    method: 'POST',
    url: `/apps/${app}/environments/production/volumes`,
    payload: { name: 'data', mountPath: '/data' },
  });
  expect(volume.statusCode, volume.body).toBe(201);
  await api.database.sql`update volumes set backup_schedule = '* * * * *'`;
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  // The Docker volume the worker made for the volume (labelled with the app).
  const docker = new DockerRuntime();
  for (const { name } of await api.database.sql<{ name: string }[]>`select docker_name as name from volumes`) {
    await docker.removeVolume(name).catch(() => {});
  }
  await api?.close();
}, 60_000);

describe('a backup slot passed while the worker was stopped', () => {
  it('is recorded backup.missed once by the next look', async () => {
    worker = await startTestWorker(api.database, api.box);
    // The worker's watch looked once at start: the schedule is watched from then on.
    await expect
      .poll(async () => (await api.database.sql`select 1 from schedule_watches where key like 'volume-backup:%'`).length, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe(1);
    await worker.stop();
    worker = undefined;
    const stoppedAt = new Date();

    // The next minute passes with no worker to take its slot (nor anything else: a slot is taken only by a worker).
    const slot = nextCronTime(parseCron('* * * * *'), stoppedAt) as Date;
    const wait = slot.getTime() + GRACE_MS + 500 - Date.now();
    await new Promise((resolve) => setTimeout(resolve, wait));
    const taken = await api.database.sql`select 1 from volume_backups where scheduled_for = ${slot.toISOString()}`;
    expect(taken).toHaveLength(0);

    const stores = createStores(api.database.db, api.box);
    const watch = new MissedSlotWatch({
      stores,
      logger: createLogger({ name: 'test', level: 'silent', format: 'json' }),
      graceMs: GRACE_MS,
    });
    expect(await watch.pass()).toBe(1);
    expect(await watch.pass()).toBe(0);
    const res = await api.request({ method: 'GET', url: `/apps/${app}/events?kind=backup.missed` });
    expect(res.statusCode, res.body).toBe(200);
    const [missed, ...others] = res.json().events;
    expect(others).toEqual([]);
    expect(missed).toMatchObject({
      kind: 'backup.missed',
      severity: 'critical',
      app,
      env: 'production',
      data: { volume: 'data', slot: slot.toISOString() },
    });
    expect(missed.message).toBe(
      `${app} production: the scheduled backup of volume data due at ${slot.toISOString()} did not run.`,
    );
  }, 85_000);
});
