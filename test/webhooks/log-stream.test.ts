import type { AddressInfo } from 'node:net';
import { createStores, type DeploymentStore } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { type CreatedApp, createApp, fakeSha, openSse, type SseEvent, uniqueAppName } from './webhook-fixtures.ts';

/**
 * GET /deployments/:id/logs and its `?follow=1` Server-Sent Events, over real
 * HTTP, with the log lines and state changes written through the same store
 * the worker uses (so no Docker is needed; build-logs.test.ts does it with a
 * real build).
 */

let api: TestApi;
let app: CreatedApp;
let store: DeploymentStore;
let base: string;

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('logstream'), { fullName: 'acme-logs/site', cloneUrl: 'file:///srv/git/logs.git' });
  store = createStores(api.database.db, api.box).deployments;
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => api?.close());

const auth = () => ({ authorization: `Bearer ${api.adminToken}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function queued(): Promise<string> {
  const res = await api.request({
    method: 'POST',
    url: `/apps/${app.name}/environments/staging/deployments`,
    payload: { commit: fakeSha(Math.random()) },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id;
}

const lineEvents = (events: SseEvent[]) => events.filter((e) => e.event === 'line');
const texts = (events: SseEvent[]) => lineEvents(events).map((e) => JSON.parse(e.data).line);

describe('GET /deployments/:id/logs', () => {
  it('returns the stored lines in order, and only those after ?after=', async () => {
    const id = await queued();
    expect((await api.request({ method: 'GET', url: `/deployments/${id}/logs` })).json()).toEqual({ lines: [] });
    await store.appendLogs(id, [
      { stream: 'system', line: 'fetching' },
      { stream: 'stdout', line: 'Step 1/2 : FROM x' },
      { stream: 'stderr', line: 'warning: something' },
    ]);
    const res = await api.request({ method: 'GET', url: `/deployments/${id}/logs` });
    expect(res.statusCode).toBe(200);
    const { lines } = res.json();
    expect(lines).toEqual([
      { id: expect.any(Number), stream: 'system', line: 'fetching', at: expect.any(String) },
      { id: expect.any(Number), stream: 'stdout', line: 'Step 1/2 : FROM x', at: expect.any(String) },
      { id: expect.any(Number), stream: 'stderr', line: 'warning: something', at: expect.any(String) },
    ]);
    expect(lines[0].id).toBeLessThan(lines[1].id);
    const after = (await api.request({ method: 'GET', url: `/deployments/${id}/logs?after=${lines[0].id}` })).json();
    expect(after.lines.map((l: { line: string }) => l.line)).toEqual(['Step 1/2 : FROM x', 'warning: something']);
  });

  it('refuses a bad query, and hides other apps’ deployments', async () => {
    const id = await queued();
    expectError(
      await api.request({ method: 'GET', url: `/deployments/${id}/logs?follow=yes` }),
      422,
      'validation_failed',
      'query.follow',
    );
    expectError(
      await api.request({ method: 'GET', url: `/deployments/${id}/logs?after=-1` }),
      422,
      'validation_failed',
      'query.after',
    );
    const other = await createApp(api, uniqueAppName('logstream-other'));
    const token = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'o', app: other.name } })).json().token;
    expectError(await api.request({ method: 'GET', url: `/deployments/${id}/logs?follow=1`, token }), 404, 'not_found');
    const res = await fetch(`${base}/deployments/${id}/logs?follow=1`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
  });
});

describe('GET /deployments/:id/logs?follow=1', () => {
  it('streams lines as they are written, then `event: end` when the build is over', async () => {
    const id = await queued();
    const opened = Date.now();
    const stream = await openSse(`${base}/deployments/${id}/logs?follow=1`, auth());
    // The headers come at once, not with the first line or the first keep-alive.
    expect(Date.now() - opened).toBeLessThan(2000);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toContain('no-cache');
    expect(stream.headers.get('x-request-id')).toBeTruthy();

    const arrivals: SseEvent[] = [];
    stream.onEvent((event) => arrivals.push(event));
    const waitForLines = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (lineEvents(arrivals).length < n) {
        if (Date.now() > deadline) throw new Error(`only ${lineEvents(arrivals).length} of ${n} lines arrived`);
        await sleep(20);
      }
    };

    expect(await store.claimBuild(id)).toBe('claimed');
    await store.appendLogs(id, [{ stream: 'system', line: 'fetching commit' }]);
    await waitForLines(1);
    // Still open while the build runs: nothing has ended it.
    expect(arrivals.some((e) => e.event === 'end')).toBe(false);
    await store.appendLogs(id, [
      { stream: 'stdout', line: 'Step 1/2' },
      { stream: 'stdout', line: 'Step 2/2' },
    ]);
    await waitForLines(3);
    await store.appendLogs(id, [{ stream: 'system', line: 'built' }]);
    await store.transition(id, ['building'], 'deploying', { imageId: `sha256:${'b'.repeat(64)}`, buildFinishedAt: new Date() });

    const events = await stream.events;
    expect(texts(events)).toEqual(['fetching commit', 'Step 1/2', 'Step 2/2', 'built']);
    const end = events.at(-1);
    expect(end?.event).toBe('end');
    expect(JSON.parse(end?.data ?? '{}')).toEqual({ state: 'deploying', terminal: false });
    // Each event's id is its line's id, so a client can resume.
    const stored = (await api.request({ method: 'GET', url: `/deployments/${id}/logs` })).json().lines;
    expect(lineEvents(events).map((e) => Number(e.id))).toEqual(stored.map((l: { id: number }) => l.id));
    expect(lineEvents(events).map((e) => JSON.parse(e.data).stream)).toEqual(['system', 'stdout', 'stdout', 'system']);
  });

  it('resumes after Last-Event-ID or ?after=', async () => {
    const id = await queued();
    await store.appendLogs(
      id,
      ['one', 'two', 'three'].map((line) => ({ stream: 'stdout' as const, line })),
    );
    await store.transition(id, ['queued'], 'cancelled', { reason: 'cancelled on request', finishedAt: new Date() });
    const all = await (await openSse(`${base}/deployments/${id}/logs?follow=1`, auth())).events;
    expect(texts(all)).toEqual(['one', 'two', 'three']);
    const firstId = lineEvents(all)[0]?.id ?? '';
    const resumed = await (await openSse(`${base}/deployments/${id}/logs?follow=1`, { ...auth(), 'last-event-id': firstId }))
      .events;
    expect(texts(resumed)).toEqual(['two', 'three']);
    const after = await (await openSse(`${base}/deployments/${id}/logs?follow=true&after=${lineEvents(all)[1]?.id}`, auth()))
      .events;
    expect(texts(after)).toEqual(['three']);
    expect(JSON.parse(after.at(-1)?.data ?? '{}')).toEqual({ state: 'cancelled', terminal: true });
  });

  it('on a finished deployment sends the stored lines and ends at once', async () => {
    const id = await queued();
    await store.appendLogs(id, [{ stream: 'stdout', line: 'only line' }]);
    await store.transition(id, ['queued'], 'cancelled', { reason: 'cancelled on request', finishedAt: new Date() });
    const started = Date.now();
    const events = await (await openSse(`${base}/deployments/${id}/logs?follow=1`, auth())).events;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(events.map((e) => e.event)).toEqual(['line', 'end']);
  });

  it('does not lose the last lines when they land together with the end of the build', async () => {
    // The worker writes its last lines, then changes the state. Here both land in one
    // transaction that also holds the deployments table, so the stream's poll sees no new
    // line, then waits on the state, and reads it only once the lines are there too.
    const id = await queued();
    expect(await store.claimBuild(id)).toBe('claimed');
    await store.appendLogs(id, [{ stream: 'system', line: 'fetching commit' }]);
    const stream = await openSse(`${base}/deployments/${id}/logs?follow=1`, auth());
    const arrivals: SseEvent[] = [];
    stream.onEvent((event) => arrivals.push(event));
    while (arrivals.length === 0) await sleep(20);

    await api.database.sql.begin(async (tx) => {
      await tx`lock table deployments in access exclusive mode`;
      await tx`insert into deployment_log_lines (deployment_id, stream, line) values (${id}, 'system', 'the last line')`;
      // Long enough for the stream to poll (every 300 ms) and block on the state.
      await sleep(1000);
      await tx`update deployments set state = 'deploying', build_finished_at = now() where id = ${id}`;
    });

    const events = await stream.events;
    expect(texts(events)).toEqual(['fetching commit', 'the last line']);
    expect(events.at(-1)?.event).toBe('end');
  });

  it('ends when the deployment is deleted with its app', async () => {
    const doomed = await createApp(api, uniqueAppName('logstream-doomed'), {
      fullName: 'acme-logs/doomed',
      cloneUrl: 'file:///srv/git/doomed.git',
    });
    const res = await api.request({
      method: 'POST',
      url: `/apps/${doomed.name}/environments/staging/deployments`,
      payload: { commit: fakeSha('doomed') },
    });
    const id = res.json().id;
    const stream = await openSse(`${base}/deployments/${id}/logs?follow=1`, auth(), 10_000);
    await sleep(400);
    expect((await api.request({ method: 'DELETE', url: `/apps/${doomed.name}` })).statusCode).toBe(202);
    // The stream says why and ends, instead of hanging.
    const events = await stream.events;
    expect(events.map((e) => e.event)).toEqual(['error']);
    expect(JSON.parse(events[0]?.data ?? '{}')).toEqual({ code: 'not_found', message: `deployment ${id} not found` });
  });

  it('stops polling when the client goes away', async () => {
    /** Backends of this database (other than these checks) that ran a query in the last 600 ms: the stream's polls. */
    const recentPolls = async () => {
      const [row] = await api.database.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = ${api.database.name} and pid <> pg_backend_pid() and query not like '%pg_stat_activity%'
          and query_start > clock_timestamp() - interval '600 milliseconds'`;
      return row?.n ?? 0;
    };
    const id = await queued();
    const stream = await openSse(`${base}/deployments/${id}/logs?follow=1`, auth());
    // While the client listens, the stream polls (every 300 ms)…
    let polling = 0;
    try {
      for (let i = 0; i < 20 && polling === 0; i++) {
        polling = await recentPolls();
        await sleep(100);
      }
    } finally {
      stream.close();
    }
    expect(polling).toBeGreaterThan(0);
    await stream.events.catch(() => []);
    // …and once it is gone, it stops.
    await sleep(1000);
    expect(await recentPolls()).toBe(0);
    await sleep(400);
    expect(await recentPolls()).toBe(0);
    expect((await api.request({ method: 'GET', url: `/deployments/${id}/logs` })).statusCode).toBe(200);
  });
});
