import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentState } from '../../apps/api/src/routes/overview.ts';
import { createTestApi, type TestApi } from '../support/api.ts';

/** The change feed behind the dashboard's live lists, the apps overview, and how the built dashboard is served. */

let api: TestApi;
let base: string;
let dist: string;

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), 'pier-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(
    join(dist, 'index.html'),
    '<!doctype html><title>Pier</title><script type="module" src="/assets/main-ABC123.js"></script>',
  );
  writeFileSync(join(dist, 'assets', 'main-ABC123.js'), 'console.log("plain")');
  writeFileSync(join(dist, 'assets', 'main-ABC123.js.gz'), gzipSync('console.log("gzip")'));
  api = await createTestApi({ dashboardDir: dist });
  base = await api.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await api?.close();
  rmSync(dist, { recursive: true, force: true });
});

async function cookieFor(token: string): Promise<string> {
  const res = await api.request({ method: 'POST', url: '/session', token: null, payload: { token } });
  return String(res.headers['set-cookie']).split(';')[0] as string;
}

type Seen = { table: string; app: string | null };

/**
 * Opens `/changes`, waits for `ready` (the feed listens from then on), runs
 * `during`, then reads until `enough` holds for what arrived (10 s at most)
 * and two batch windows more, so that what should not come has had its chance.
 */
async function changes(cookie: string, during: () => Promise<void>, enough: (seen: Seen[]) => boolean) {
  const abort = new AbortController();
  const res = await fetch(`${base}/changes`, { headers: { cookie }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const read = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value);
      }
    } catch {
      // aborted
    }
  })();
  const seen = () =>
    text
      .split('\n\n')
      .filter((block) => block.startsWith('event: changes'))
      .flatMap((block) => JSON.parse(block.split('\ndata: ')[1] as string) as Seen[]);
  const until = async (what: () => boolean, ms: number) => {
    for (const deadline = Date.now() + ms; !what() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  };
  try {
    await until(() => text.includes('event: ready'), 10_000);
    expect(text).toContain('event: ready');
    await during();
    await until(() => enough(seen()), 10_000);
    await new Promise((r) => setTimeout(r, 600));
    return seen();
  } finally {
    abort.abort();
    await read;
  }
}

describe('GET /changes', () => {
  it("says which tables changed for which app, within a batch; an app token's session hears its own app only", async () => {
    await api.request({ method: 'POST', url: '/apps', payload: { name: 'seen' } });
    await api.request({ method: 'POST', url: '/apps', payload: { name: 'unseen' } });
    const token = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'seen-app', app: 'seen' } })).json()
      .token;
    const admin = await cookieFor(api.adminToken);
    const appOnly = await cookieFor(token);

    const change = async () => {
      for (const name of ['seen', 'unseen']) {
        const res = await api.request({
          method: 'PATCH',
          url: `/apps/${name}/environments/staging/variables`,
          payload: { set: { K: 'v' } },
        });
        expect(res.statusCode).toBe(200);
      }
    };
    const hasBoth = (seen: Seen[]) =>
      ['seen', 'unseen'].every((app) => seen.some((c) => c.table === 'variables' && c.app === app));
    const hasSeen = (seen: Seen[]) => seen.some((c) => c.table === 'variables' && c.app === 'seen');
    const all = await changes(admin, change, hasBoth);
    const mine = await changes(appOnly, change, hasSeen);
    expect(all).toEqual(
      expect.arrayContaining([
        { table: 'variables', app: 'seen' },
        { table: 'variables', app: 'unseen' },
      ]),
    );
    expect(mine).toContainEqual({ table: 'variables', app: 'seen' });
    expect(mine.filter((c) => c.app !== 'seen')).toEqual([]);
    // Values never travel on the feed.
    expect(JSON.stringify(all)).not.toContain('"v"');
  });

  it('ends open streams once their session is signed out or their token revoked', async () => {
    const quick = await createTestApi({ streamRecheckMs: 300 });
    const quickBase = await quick.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await quick.request({ method: 'POST', url: '/apps', payload: { name: 'streamed' } });
      const signIn = await quick.request({ method: 'POST', url: '/session', token: null, payload: { token: quick.adminToken } });
      const cookie = String(signIn.headers['set-cookie']).split(';')[0] as string;
      const token = (await quick.request({ method: 'POST', url: '/tokens', payload: { name: 'streamer' } })).json();
      const logs = '/apps/streamed/environments/staging/logs?follow=1';
      /** Reads a stream to its end (10 s at most): its text, and whether the server ended it. */
      const readToEnd = async (url: string, headers: Record<string, string>, afterOpen: () => Promise<void>) => {
        const res = await fetch(`${quickBase}${url}`, { headers, signal: AbortSignal.timeout(10_000) });
        expect(res.status).toBe(200);
        const reading = res.text().then(
          (text) => ({ text, ended: true }),
          () => ({ text: '', ended: false }),
        );
        await new Promise((r) => setTimeout(r, 200));
        await afterOpen();
        return reading;
      };
      const signOut = () =>
        quick
          .request({
            method: 'DELETE',
            url: '/session',
            token: null,
            headers: { cookie, 'x-csrf-token': signIn.json().csrfToken },
          })
          .then((r) => expect(r.statusCode).toBe(204));
      const revoke = () =>
        quick.request({ method: 'DELETE', url: `/tokens/${token.id}` }).then((r) => expect(r.statusCode).toBe(204));
      const [changesOfSession, logsOfToken] = await Promise.all([
        readToEnd('/changes', { cookie }, signOut),
        readToEnd(logs, { authorization: `Bearer ${token.token}` }, revoke),
      ]);
      expect(changesOfSession).toMatchObject({ ended: true });
      expect(changesOfSession.text).toContain('event: signed-out');
      expect(logsOfToken).toMatchObject({ ended: true });
      expect(logsOfToken.text).toContain('event: signed-out');
    } finally {
      await quick.close();
    }
  });

  it('needs a session or a token', async () => {
    const res = await fetch(`${base}/changes`);
    expect(res.status).toBe(401);
  });
});

describe('GET /overview', () => {
  it("lists every app's environments with their state and URL in one answer", async () => {
    await api.request({ method: 'POST', url: '/apps', payload: { name: 'ov' } });
    const body = (await api.request({ method: 'GET', url: '/overview' })).json() as {
      apps: { name: string; environments: { name: string; state: string; url: string; liveRelease: unknown }[] }[];
    };
    const ov = body.apps.find((a) => a.name === 'ov');
    expect(ov?.environments.map((e) => [e.name, e.state, e.url])).toEqual([
      ['production', 'new', 'https://ov.pier.test'],
      ['staging', 'new', 'https://ov-staging.pier.test'],
    ]);
  });

  it('names the state: a crash loop first, then a deploy under way, then how the last one ended', () => {
    const env = (health: string, state: string | null, live: boolean) => ({
      app: 'a',
      repository: null,
      environment: 'staging',
      pullRequest: null,
      health,
      liveRelease: live ? { version: 1, imageRef: 'x', at: new Date() } : null,
      lastDeployment: state ? { id: 'd', state, trigger: 'push', gitRef: null, at: new Date(), finishedAt: null } : null,
    });
    expect(environmentState(env('crash-looping', 'building', true))).toBe('crash-looping');
    expect(environmentState(env('ok', 'building', true))).toBe('deploying');
    expect(environmentState(env('ok', 'waiting_for_checks', false))).toBe('deploying');
    expect(environmentState(env('ok', 'failed', true))).toBe('failed');
    expect(environmentState(env('ok', 'live', true))).toBe('live');
    expect(environmentState(env('ok', 'cancelled', true))).toBe('live');
    expect(environmentState(env('ok', null, false))).toBe('new');
  });
});

describe('the built dashboard', () => {
  it('serves index.html at / uncached, with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(await res.text()).toContain('/assets/main-ABC123.js');
  });

  it('serves hashed files for a year, precompressed when accepted', async () => {
    const gz = await fetch(`${base}/assets/main-ABC123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(await gz.text()).toBe('console.log("gzip")'); // fetch decodes it
    expect(gz.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(gz.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const plain = await api.request({
      method: 'GET',
      url: '/assets/main-ABC123.js',
      token: null,
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe('console.log("plain")');
  });

  it('answers 404 for anything not part of the build, never a file outside it', async () => {
    for (const url of [
      '/assets/missing-XYZ.js',
      '/assets/..%2Findex.html',
      '/assets/main-ABC123.exe',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    ]) {
      const res = await api.request({ method: 'GET', url, token: null });
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('says how to build it when it is not built', async () => {
    const bare = await createTestApi();
    try {
      const res = await bare.request({ method: 'GET', url: '/', token: null });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build:dashboard');
    } finally {
      await bare.close();
    }
  });
});
