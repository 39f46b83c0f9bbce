import { afterEach, describe, expect, it } from 'vitest';
import { HttpProxyForwarder } from './http-proxy-forwarder.ts';
import { route, send, startEchoUpstream, startEdge, type TestServer } from './testing/servers.ts';
import { UndiciForwarder } from './undici-forwarder.ts';

/**
 * Each answered request counts under the release of the replica that
 * answered it (what the watch after a rollout compares), not under "no
 * replica": a response may end, and be counted, before the forwarder's
 * promise settles.
 */

const started: TestServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe.each([
  ['undici', () => new UndiciForwarder()],
  ['http-proxy', () => new HttpProxyForwarder()],
])('request counts on %s', (_name, makeForwarder) => {
  it('counts every answered request under the release of its replica', async () => {
    const upstream = await startEchoUpstream('a');
    started.push(upstream);
    const answering = { ...upstream.upstream(), releaseId: 'release-2' };
    const web = { ...route('web', 'production', ['web.pier.test'], [answering]), environmentId: 'env-1' };
    const edge = await startEdge({ forwarder: makeForwarder(), routes: [web] });
    started.push(edge);
    for (let i = 0; i < 20; i += 1) expect((await send(edge.port, 'web.pier.test')).status).toBe(200);
    const buckets = edge.metrics.takeBuckets(new Date('2026-01-01T00:00:00Z'));
    expect(buckets.map((b) => ({ env: b.environmentId, release: b.releaseId, ok: b.byClass[2] }))).toEqual([
      { env: 'env-1', release: 'release-2', ok: 20 },
    ]);
  });
});
