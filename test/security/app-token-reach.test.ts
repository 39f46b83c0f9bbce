import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { schema } from '@pier/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, pushCommit, startBuildWorker, waitForState } from '../builds/build-harness.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import type { TestWorker } from '../support/worker.ts';

/**
 * An app token stays inside its app: it cannot point the app at another
 * repository, run forks' code, make preview databases or touch repository
 * credentials. Credentials are bound to the origin they were given for: a
 * canary token must never reach a listener on another origin, whether the
 * repository is moved there or the first origin redirects there.
 */

const run = randomBytes(3).toString('hex');
const CANARY = `ghs_canary${randomBytes(12).toString('hex')}`;
let api: TestApi;
let worker: TestWorker;
let appToken: string;
const origins: Listener[] = [];

interface Listener {
  server: Server;
  url: string;
  seen: IncomingHttpHeaders[];
}

/** A git host stand-in on loopback that records every request's headers and answers with `answer`. */
async function listener(answer: (url: string) => { status: number; location?: string }): Promise<Listener> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const { status, location } = answer(req.url ?? '/');
    res.writeHead(status, location ? { location } : {});
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const entry = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  origins.push(entry);
  return entry;
}

/** True when any request carried the canary, as a raw header value or inside Basic credentials. */
function sawCanary(seen: IncomingHttpHeaders[]): boolean {
  return seen.some((headers) =>
    Object.values(headers).some((value) => {
      const text = String(value);
      const basic = /^Basic (.+)$/i.exec(text)?.[1];
      return text.includes(CANARY) || (basic !== undefined && Buffer.from(basic, 'base64').toString().includes(CANARY));
    }),
  );
}

const SHA = 'a'.repeat(40);

beforeAll(async () => {
  api = await createTestApi();
  const created = await api.request({ method: 'POST', url: '/apps', payload: { name: `reach-${run}` } });
  expect(created.statusCode, created.body).toBe(201);
  const token = await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci', app: `reach-${run}` } });
  expect(token.statusCode, token.body).toBe(201);
  appToken = token.json().token;
  worker = await startBuildWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  await api?.close();
  for (const o of origins) await new Promise((resolve) => o.server.close(resolve));
});

describe('an app token', () => {
  it.each([
    ['repository', { repository: { fullName: 'evil/repo', cloneUrl: 'https://evil.example/evil/repo.git' } }],
    ['forkPreviews', { forkPreviews: true }],
    ['previewDatabase', { previewDatabase: true }],
  ])('may not change %s, and nothing changes', async (field, payload) => {
    const before = await api.request({ method: 'GET', url: `/apps/reach-${run}` });
    const res = await api.request({ method: 'PATCH', url: `/apps/reach-${run}`, token: appToken, payload });
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().error.message).toMatch(new RegExp(`^${field}: only an admin token`));
    const after = await api.request({ method: 'GET', url: `/apps/reach-${run}` });
    expect(after.json()).toEqual(before.json());
  });

  it('may not set or remove repository credentials', async () => {
    const put = await api.request({
      method: 'PUT',
      url: `/apps/reach-${run}/repository-credentials`,
      token: appToken,
      payload: { token: CANARY },
    });
    expect(put.statusCode, put.body).toBe(403);
    const del = await api.request({ method: 'DELETE', url: `/apps/reach-${run}/repository-credentials`, token: appToken });
    expect(del.statusCode, del.body).toBe(403);
  });

  it('still changes what stays inside its app', async () => {
    const res = await api.request({
      method: 'PATCH',
      url: `/apps/reach-${run}`,
      token: appToken,
      payload: { dockerfilePath: 'deploy/Dockerfile', previewsEnabled: false },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ dockerfilePath: 'deploy/Dockerfile', previewsEnabled: false });
    const variable = await api.request({
      method: 'PATCH',
      url: `/apps/reach-${run}/environments/staging/variables`,
      token: appToken,
      payload: { set: { FEATURE: 'on' } },
    });
    expect(variable.statusCode, variable.body).toBe(200);
  });
});

describe('repository credentials', () => {
  it('are refused before the app has a repository, naming the field', async () => {
    const res = await api.request({ method: 'PUT', url: `/apps/reach-${run}/repository-credentials`, payload: { token: 'x' } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.message).toMatch(/^repository: /);
  });

  it('are dropped when the repository moves to another origin, and the canary never reaches it', async () => {
    const trusted = await listener(() => ({ status: 404 }));
    const attacker = await listener(() => ({ status: 404 }));
    const name = `moved-${run}`;
    const fullName = `acme/moved-${run}`;
    const secret = await createApp(api, name, fullName, { url: `${trusted.url}/acme/moved.git` } as never);
    const put = await api.request({
      method: 'PUT',
      url: `/apps/${name}/repository-credentials`,
      payload: { token: CANARY },
    });
    expect(put.statusCode, put.body).toBe(204);

    // Same origin, another path: the credentials stay.
    const samePlace = await api.request({
      method: 'PATCH',
      url: `/apps/${name}`,
      payload: { repository: { fullName, cloneUrl: `${trusted.url}/acme/renamed.git` } },
    });
    expect(samePlace.json()).toMatchObject({ repositoryCredentials: true });
    expect(samePlace.json().repositoryCredentialsDropped).toBeUndefined();

    const moved = await api.request({
      method: 'PATCH',
      url: `/apps/${name}`,
      payload: { repository: { fullName, cloneUrl: `${attacker.url}/acme/moved.git` } },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ repositoryCredentials: false, repositoryCredentialsDropped: true });

    const id = await pushCommit(api, fullName, secret, SHA);
    const deployment = await waitForState(api, id, ['failed'], 60_000);
    expect(attacker.seen.length, deployment.reason ?? '').toBeGreaterThan(0);
    expect(sawCanary(attacker.seen)).toBe(false);
  });

  it('are withheld by the worker when they are bound to another origin than the clone URL', async () => {
    const trusted = await listener(() => ({ status: 404 }));
    const attacker = await listener(() => ({ status: 404 }));
    const name = `bound-${run}`;
    const fullName = `acme/bound-${run}`;
    const secret = await createApp(api, name, fullName, { url: `${trusted.url}/acme/bound.git` } as never);
    const put = await api.request({ method: 'PUT', url: `/apps/${name}/repository-credentials`, payload: { token: CANARY } });
    expect(put.statusCode, put.body).toBe(204);
    // Moved behind the API's back (a restored dump, a manual fix): the sealed origin still decides.
    await api.database.db
      .update(schema.apps)
      .set({ repoCloneUrl: `${attacker.url}/acme/bound.git` })
      .where(eq(schema.apps.name, name));

    const id = await pushCommit(api, fullName, secret, SHA);
    await waitForState(api, id, ['failed'], 60_000);
    expect(attacker.seen.length).toBeGreaterThan(0);
    expect(sawCanary(attacker.seen)).toBe(false);
    expect(worker.logs.join('')).toContain('repository credentials withheld');
  });

  it('reach the origin they were given for, and not the origin it redirects to', async () => {
    const elsewhere = await listener(() => ({ status: 404 }));
    const trusted = await listener((url) => ({ status: 302, location: `${elsewhere.url}${url}` }));
    const name = `redir-${run}`;
    const fullName = `acme/redir-${run}`;
    const secret = await createApp(api, name, fullName, { url: `${trusted.url}/acme/redir.git` } as never);
    const put = await api.request({ method: 'PUT', url: `/apps/${name}/repository-credentials`, payload: { token: CANARY } });
    expect(put.statusCode, put.body).toBe(204);

    const id = await pushCommit(api, fullName, secret, SHA);
    await waitForState(api, id, ['failed'], 60_000);
    expect(sawCanary(trusted.seen)).toBe(true);
    expect(sawCanary(elsewhere.seen)).toBe(false);
  });
});
