import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';
import { type CreatedApp, createApp, fakeSha, uniqueAppName } from './webhook-fixtures.ts';

/**
 * POST /apps/:app/environments/:env/deployments: a branch, tag or commit (or
 * the environment's branch), queued like a push; hostile refs refused at the
 * edge with the field named, before anything is written. No worker runs here.
 */

let api: TestApi;
let app: CreatedApp;
let other: CreatedApp;
let bare: CreatedApp;
let appToken: string;
let otherToken: string;

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('manual'), { fullName: 'acme-manual/api', cloneUrl: 'file:///srv/git/api.git' });
  other = await createApp(api, uniqueAppName('manual-other'), {
    fullName: 'acme-manual/other',
    cloneUrl: 'file:///srv/git/other.git',
  });
  bare = await createApp(api, uniqueAppName('manual-bare'));
  appToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'app ci', app: app.name } })).json().token;
  otherToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'other ci', app: other.name } })).json()
    .token;
});
afterAll(async () => api?.close());

const deployUrl = (appName: string, env = 'staging') => `/apps/${appName}/environments/${env}/deployments`;

function deploy(payload: unknown, options: { appName?: string; env?: string; token?: string | null } = {}) {
  return api.request({
    method: 'POST',
    url: deployUrl(options.appName ?? app.name, options.env),
    payload: payload as Record<string, unknown>,
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
}

async function expectQueued(res: Awaited<ReturnType<typeof deploy>>, expected: { ref: string | null; commit: string | null }) {
  expect(res.statusCode, res.body).toBe(202);
  const body = res.json();
  expect(body).toMatchObject({ state: 'queued', trigger: 'manual', image: null, reason: null, ...expected });
  const [row] = await api.database.sql`select state, git_ref, commit_sha from deployments where id = ${body.id}`;
  expect(row).toEqual({ state: 'queued', git_ref: expected.ref, commit_sha: expected.commit });
  const [outbox] = await api.database.sql`select job from outbox where deployment_id = ${body.id}`;
  expect(outbox).toEqual({ job: 'build' });
  return body;
}

describe('a manual deploy', () => {
  it('of a branch is queued with that branch', async () => {
    const body = await expectQueued(await deploy({ branch: 'release/2024-06' }), {
      ref: 'refs/heads/release/2024-06',
      commit: null,
    });
    expect(body).toMatchObject({ app: app.name, environment: 'staging' });
  });

  it('of a commit is queued with that commit and no ref', async () => {
    const sha = fakeSha('manual-commit');
    await expectQueued(await deploy({ commit: sha }), { ref: null, commit: sha });
  });

  it('of a tag is queued with the tag', async () => {
    await expectQueued(await deploy({ tag: 'v1.4.0' }, { env: 'production' }), { ref: 'refs/tags/v1.4.0', commit: null });
  });

  it("with no body fields deploys the environment's branch, else the app's default branch", async () => {
    await expectQueued(await deploy({}), { ref: 'refs/heads/main', commit: null });
    // production tracks tags, not a branch: the app's default branch it is.
    await expectQueued(await deploy({}, { env: 'production' }), { ref: 'refs/heads/main', commit: null });
    const changed = await api.request({
      method: 'PATCH',
      url: `/apps/${app.name}/environments/staging`,
      payload: { branch: 'develop' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await expectQueued(await deploy({}), { ref: 'refs/heads/develop', commit: null });
    await api.request({ method: 'PATCH', url: `/apps/${app.name}/environments/staging`, payload: { branch: 'main' } });
  });

  it('supersedes the queued deployment of the same environment, and only that one', async () => {
    const first = (await deploy({ commit: fakeSha('s1') })).json();
    const elsewhere = (await deploy({ commit: fakeSha('s2') }, { env: 'production' })).json();
    const second = (await deploy({ commit: fakeSha('s3') })).json();
    const state = async (id: string) => (await api.request({ method: 'GET', url: `/deployments/${id}` })).json();
    expect((await state(first.id)).state).toBe('superseded');
    expect((await state(first.id)).reason).toContain('newer deployment');
    expect((await state(elsewhere.id)).state).toBe('queued');
    expect((await state(second.id)).state).toBe('queued');
  });

  it("is allowed with a token of the app's own", async () => {
    await expectQueued(await deploy({ branch: 'main' }, { token: appToken }), { ref: 'refs/heads/main', commit: null });
  });
});

/** Refs that must never reach git: option injection, shell syntax, path tricks, control characters. */
const HOSTILE_REFS = [
  '--upload-pack=touch /tmp/pwned',
  '--upload-pack=touch',
  '$(id)',
  '`id`',
  'a..b',
  'x\nrm',
  'x\rrm',
  'x\0y',
  '-b',
  'refs/../x',
  '../x',
  'a b',
  'a;rm',
  'a|id',
  'main@{1}',
  '.hidden',
  'x.lock',
  '/abs',
  '',
];

describe('refused requests write nothing', () => {
  let before: Record<string, unknown[]>;
  /** Every table but api_tokens, whose last_used_at a refused request with a valid token still updates. */
  const expectUnchanged = async () => {
    const { api_tokens: _now, ...after } = await snapshotState(api.database.sql);
    const { api_tokens: _then, ...then } = before;
    expect(after).toEqual(then);
  };

  it.each(HOSTILE_REFS.map((ref) => [JSON.stringify(ref), ref]))('branch %s → 422 naming body.branch', async (_, ref) => {
    before = await snapshotState(api.database.sql);
    expectError(await deploy({ branch: ref }), 422, 'validation_failed', 'body.branch');
    expectError(await deploy({ tag: ref }), 422, 'validation_failed', 'body.tag');
    await expectUnchanged();
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('refuses a commit that is not 40 lower-case hex digits', async () => {
    before = await snapshotState(api.database.sql);
    const sha = fakeSha('x');
    for (const commit of [
      'abc123',
      sha.toUpperCase(),
      `${sha}0`,
      sha.slice(1),
      'HEAD',
      `--upload-pack=${sha}`,
      `${sha}\n`,
      'g'.repeat(40),
    ]) {
      expectError(await deploy({ commit }), 422, 'validation_failed', 'body.commit');
    }
    await expectUnchanged();
  });

  it('refuses two of branch, tag and commit at once', async () => {
    before = await snapshotState(api.database.sql);
    for (const payload of [
      { branch: 'main', commit: fakeSha('both') },
      { branch: 'main', tag: 'v1' },
      { tag: 'v1', commit: fakeSha('both') },
    ]) {
      expectError(await deploy(payload), 422, 'validation_failed', 'at most one of branch, tag or commit');
    }
    await expectUnchanged();
  });

  it('refuses unknown fields and wrong types', async () => {
    before = await snapshotState(api.database.sql);
    expectError(await deploy({ ref: 'main' }), 422, 'validation_failed', 'body');
    expectError(await deploy({ cloneUrl: 'https://evil.invalid/x.git' }), 422, 'validation_failed', 'cloneUrl');
    expectError(await deploy({ branch: 42 }), 422, 'validation_failed', 'body.branch');
    await expectUnchanged();
  });

  it('refuses an app without a repository with 422 naming the repository', async () => {
    before = await snapshotState(api.database.sql);
    expectError(await deploy({}, { appName: bare.name }), 422, 'validation_failed', 'repository');
    expectError(await deploy({ branch: 'main' }, { appName: bare.name }), 422, 'validation_failed', 'repository');
    await expectUnchanged();
  });

  it("answers 404 to another app's token, as if the app did not exist", async () => {
    before = await snapshotState(api.database.sql);
    const theirs = await deploy({ branch: 'main' }, { token: otherToken });
    const missing = await deploy({ branch: 'main' }, { appName: 'no-such-app' });
    expectError(theirs, 404, 'not_found');
    expectError(missing, 404, 'not_found');
    expect(theirs.json().error.message).toBe(`app ${app.name} not found`);
    await expectUnchanged();
  });

  it('answers 404 for an unknown environment and 401 without a token', async () => {
    before = await snapshotState(api.database.sql);
    expectError(await deploy({}, { env: 'nope' }), 404, 'not_found', 'nope');
    expectError(await deploy({}, { token: null }), 401, 'unauthorized');
    expectError(await deploy({}, { token: 'pier_not-a-real-token' }), 401, 'unauthorized');
    await expectUnchanged();
  });
});

describe('listing manual deploys', () => {
  it("shows an app token its own app's deployments and hides the others'", async () => {
    const mine = await api.request({ method: 'GET', url: `/apps/${app.name}/deployments`, token: appToken });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().deployments.length).toBeGreaterThan(0);
    const id = mine.json().deployments[0].id;
    expectError(await api.request({ method: 'GET', url: `/deployments/${id}`, token: otherToken }), 404, 'not_found');
    expectError(await api.request({ method: 'GET', url: `/deployments/${id}/logs`, token: otherToken }), 404, 'not_found');
    expectError(await api.request({ method: 'POST', url: `/deployments/${id}/cancel`, token: otherToken }), 404, 'not_found');
    expectError(await api.request({ method: 'GET', url: `/apps/${app.name}/deployments`, token: otherToken }), 404, 'not_found');
  });
});
