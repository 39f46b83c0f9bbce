import type { AddressInfo } from 'node:net';
import { createStores, type NewLogLine } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapped } from '../../apps/api/src/routes/environment-log-stream.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { createApp, openSse, type SseEvent, uniqueAppName } from '../webhooks/webhook-fixtures.ts';

/**
 * GET …/environments/:env/logs reads Pier's log store (no Docker): filters,
 * refused ranges naming the field, paging with `after`, `?follow=1` as SSE
 * with Last-Event-ID, and the retention setting (admin only).
 */

let api: TestApi;
let appName: string;
let environmentId: string;
let stores: ReturnType<typeof createStores>;
let base: string;
const URL = () => `/apps/${appName}/environments/production/logs`;

beforeAll(async () => {
  api = await createTestApi();
  appName = (await createApp(api, uniqueAppName('logsapi'), { fullName: 'acme/logs', cloneUrl: 'file:///srv/git/l.git' })).name;
  stores = createStores(api.database.db, api.box);
  const app = await stores.apps.get({ role: 'admin', tokenId: null }, appName);
  environmentId = (await stores.environments.get(app.id, 'production')).id;
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => api?.close());

const t0 = Date.now() - 60_000;
function line(n: number, extra: Partial<NewLogLine> = {}): NewLogLine {
  return {
    environmentId,
    at: new Date(t0 + n * 1000),
    source: 'replica',
    processType: 'web',
    replica: 'pier-x-production-v1-aaaaaa',
    releaseId: null,
    stream: 'stdout',
    line: `line ${n}`,
    ...extra,
  };
}

async function get(query: string) {
  const res = await api.request({ method: 'GET', url: `${URL()}${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().lines as { id: number; line: string; process: string; replica: string; release: number | null }[];
}

describe('GET /apps/:app/environments/:env/logs', () => {
  it('serves stored lines with their tags, filtered, the newest `tail`, and pages with `after`', async () => {
    const store = stores.logs;
    await store.append([
      line(1),
      line(2, { processType: 'worker', replica: 'pier-x-production-v1-worker-bbbbbb', line: 'Job 100% done' }),
      line(3, { stream: 'stderr', line: 'ERROR boom' }),
      line(4),
    ]);
    const all = await get('');
    expect(all.map((l) => l.line)).toEqual(['line 1', 'Job 100% done', 'ERROR boom', 'line 4']);
    expect(all[1]).toEqual({
      id: expect.any(Number),
      at: new Date(t0 + 2000).toISOString(),
      replica: 'pier-x-production-v1-worker-bbbbbb',
      process: 'worker',
      release: null,
      stream: 'stdout',
      line: 'Job 100% done',
    });
    expect((await get('?process=worker')).map((l) => l.line)).toEqual(['Job 100% done']);
    expect((await get('?text=error')).map((l) => l.line)).toEqual(['ERROR boom']);
    expect((await get('?text=100%25')).map((l) => l.line)).toEqual(['Job 100% done']);
    expect((await get('?replica=pier-x-production-v1-aaaaaa&tail=2')).map((l) => l.line)).toEqual(['ERROR boom', 'line 4']);
    const since = new Date(t0 + 2000).toISOString();
    const until = new Date(t0 + 3000).toISOString();
    expect((await get(`?since=${since}&until=${until}`)).map((l) => l.line)).toEqual(['Job 100% done', 'ERROR boom']);
    expect((await get(`?after=${all[1]?.id}&tail=1`)).map((l) => l.line)).toEqual(['ERROR boom']);
    // Paging back from the oldest line shown: the newest `tail` lines before it, oldest first.
    expect((await get(`?before=${all[3]?.id}&tail=2`)).map((l) => l.line)).toEqual(['Job 100% done', 'ERROR boom']);
    expect((await get(`?before=${all[1]?.id}&tail=5`)).map((l) => l.line)).toEqual(['line 1']);
    expect(await get(`?before=${all[0]?.id}`)).toEqual([]);
  });

  it('refuses an inverted or too wide range, and a bad tail, naming the field; nothing leaks for an unknown app', async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    let res = await api.request({ method: 'GET', url: `${URL()}?since=${iso(now)}&until=${iso(now - 1000)}` });
    expectError(res, 422, 'validation_failed', 'query.until');
    res = await api.request({ method: 'GET', url: `${URL()}?since=${iso(now - 40 * 86_400_000)}` });
    expectError(res, 422, 'validation_failed', 'query.since');
    res = await api.request({ method: 'GET', url: `${URL()}?tail=10001` });
    expectError(res, 422, 'validation_failed', 'tail');
    res = await api.request({ method: 'GET', url: `${URL()}?before=5&follow=1` });
    expectError(res, 422, 'validation_failed', 'query.before');
    res = await api.request({ method: 'GET', url: `/apps/nope-${Date.now()}/environments/production/logs` });
    expect(res.statusCode).toBe(404);
  });

  it('?follow=1 streams the history, then new lines as they are stored, and resumes after Last-Event-ID', async () => {
    const store = stores.logs;
    const headers = { authorization: `Bearer ${api.adminToken}` };
    const stream = await openSse(`${base}${URL()}?follow=1&tail=2&process=web`, headers, 20_000);
    expect(stream.status).toBe(200);
    const seen: SseEvent[] = [];
    stream.onEvent((e) => seen.push(e));
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
    await store.append([
      line(5, { line: 'live one' }),
      line(6, { processType: 'worker', line: 'not web' }),
      line(7, { line: 'live two' }),
    ]);
    await expect
      .poll(() => seen.map((e) => JSON.parse(e.data).line), { timeout: 5000 })
      .toEqual(['ERROR boom', 'line 4', 'live one', 'live two']);
    stream.close();
    await stream.events.catch(() => []);
    const lastId = seen[2]?.id as string;
    const resumed = await openSse(`${base}${URL()}?follow=1`, { ...headers, 'last-event-id': lastId }, 20_000);
    const again: SseEvent[] = [];
    resumed.onEvent((e) => again.push(e));
    await expect.poll(() => again.map((e) => JSON.parse(e.data).line), { timeout: 5000 }).toEqual(['not web', 'live two']);
    resumed.close();
    await resumed.events.catch(() => []);
  });

  it('?follow=1&tail=0 begins at the newest line, not the history; an answer that does not follow is cut at its byte cap', async () => {
    const headers = { authorization: `Bearer ${api.adminToken}` };
    const stream = await openSse(`${base}${URL()}?follow=1&tail=0`, headers, 20_000);
    const seen: SseEvent[] = [];
    stream.onEvent((e) => seen.push(e));
    await new Promise((resolve) => setTimeout(resolve, 600)); // a few polls: nothing of the history comes
    await stores.logs.append([line(8, { line: 'after the start' })]);
    await expect.poll(() => seen.map((e) => JSON.parse(e.data).line), { timeout: 5000 }).toEqual(['after the start']);
    stream.close();
    await stream.events.catch(() => []);

    const query = { environmentId, limit: 1000 };
    const all = await readCapped(stores.logs, { ...query, order: 'asc' });
    expect(all.truncated).toBe(false);
    const bytes = (n: number) => all.rows.slice(0, n).reduce((sum, r) => sum + Buffer.byteLength(r.line), 0);
    const oldest = await readCapped(stores.logs, { ...query, order: 'asc' }, bytes(3));
    expect(oldest).toEqual({ rows: all.rows.slice(0, 3), truncated: true });
    const sizes = all.rows.map((r) => Buffer.byteLength(r.line));
    const newestTwo = (sizes.at(-1) ?? 0) + (sizes.at(-2) ?? 0);
    const newest = await readCapped(stores.logs, { ...query, order: 'desc' }, newestTwo);
    expect(newest).toEqual({ rows: all.rows.slice(-2), truncated: true });
  });

  it('keeps an environment’s retention setting', async () => {
    const url = `${URL()}/retention`;
    const set = await api.request({ method: 'PUT', url, payload: { days: 3, mb: 20 } });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ days: 3, mb: 20, lines: expect.any(Number), bytes: expect.any(Number) });
    expect((await api.request({ method: 'GET', url })).json()).toMatchObject({ days: 3, mb: 20 });
    const bad = await api.request({ method: 'PUT', url, payload: { days: 0, mb: null } });
    expectError(bad, 422, 'validation_failed', 'days');
  });
});
