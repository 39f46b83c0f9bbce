import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';
import { examplePayload, pushPayload, sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, rowCounts, uniqueAppName } from './webhook-fixtures.ts';

/**
 * Which GitHub events deploy what, with real payloads from
 * @octokit/webhooks-examples pointed at the test app's repository. Defaults:
 * staging tracks the default branch (main), production tags matching `v*`.
 */

let api: TestApi;
let app: CreatedApp;
const REPO = 'acme-route/shop';
const CLONE_URL = 'file:///srv/git/acme-route-shop.git';
/** Where a payload would have Pier clone from if it were trusted. */
const EVIL_URL = 'https://evil.invalid/attacker/shop.git';

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('route'), { fullName: REPO, cloneUrl: CLONE_URL });
});
afterAll(async () => api?.close());

/** Clears the deployments between tests so that each sees only its own (and no supersede noise). */
beforeEach(async () => {
  await api.database.sql`delete from deployments`;
});

const send = (event: string, payload: unknown) => sendWebhook(api.app, { event, payload, secret: app.secret });

/** The example re-pointed at the test repository, every URL field of it aimed elsewhere. */
function forRepo<T>(payload: T): T {
  const p = payload as Record<string, any>;
  p.repository = { ...p.repository, full_name: REPO, name: 'shop', owner: { ...p.repository?.owner, login: 'acme-route' } };
  for (const key of ['clone_url', 'git_url', 'ssh_url', 'svn_url', 'html_url', 'url', 'mirror_url']) p.repository[key] = EVIL_URL;
  return payload;
}

async function expectQueued(res: Awaited<ReturnType<typeof send>>, environment: string) {
  expect(res.statusCode, res.body).toBe(202);
  const body = res.json();
  expect(body.deployments).toEqual([{ id: expect.any(String), app: app.name, environment }]);
  const shown = await api.request({ method: 'GET', url: `/deployments/${body.deployments[0].id}` });
  expect(shown.statusCode).toBe(200);
  return shown.json();
}

async function expectNothingQueued(res: Awaited<ReturnType<typeof send>>, reasonPart?: string) {
  expect(res.statusCode, res.body).toBe(202);
  expect(res.json()).toEqual({ deployments: [], ignored: expect.any(String) });
  if (reasonPart) expect(res.json().ignored).toContain(reasonPart);
  const counts = await rowCounts(api);
  expect({ deployments: counts.deployments, outbox: counts.outbox }).toEqual({ deployments: 0, outbox: 0 });
}

describe('ping', () => {
  it('answers 200 to a repository hook ping and queues nothing', async () => {
    const res = await send('ping', forRepo(examplePayload('pingRepository')));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ok: true, event: 'ping' });
    expect((await rowCounts(api)).deployments).toBe(0);
  });
});

describe('push', () => {
  it('to the default branch queues staging at the pushed commit', async () => {
    const sha = fakeSha('route-main');
    const payload = forRepo(pushPayload(REPO, 'refs/heads/main', sha));
    const deployment = await expectQueued(await send('push', payload), 'staging');
    expect(deployment).toMatchObject({ state: 'queued', trigger: 'push', ref: 'refs/heads/main', commit: sha, image: null });
  });

  it('to another branch answers 202 and queues nothing', async () => {
    await expectNothingQueued(
      await send('push', forRepo(pushPayload(REPO, 'refs/heads/feature/login', fakeSha('route-feature')))),
      'feature/login',
    );
    // The example's own branch, master, is not main either.
    const example = forRepo(examplePayload('pushBranch'));
    expect(example.ref).toBe('refs/heads/master');
    await expectNothingQueued(await send('push', example));
  });

  it('that deletes the default branch queues nothing', async () => {
    const payload = forRepo(pushPayload(REPO, 'refs/heads/main', '0'.repeat(40)));
    payload.deleted = true;
    payload.head_commit = null;
    await expectNothingQueued(await send('push', payload), 'deletes');
  });

  it('that deletes a tag (the real example) queues nothing', async () => {
    const payload = forRepo(examplePayload('pushTagDeleted')) as Record<string, any>;
    payload.ref = 'refs/tags/v9.9.9';
    expect(payload.deleted).toBe(true);
    await expectNothingQueued(await send('push', payload), 'deletes');
  });

  it('of tag v1.2.3 queues production (pattern v*) at the tagged commit', async () => {
    const payload = forRepo(examplePayload('pushTag')) as Record<string, any>;
    payload.ref = 'refs/tags/v1.2.3';
    const deployment = await expectQueued(await send('push', payload), 'production');
    expect(deployment).toMatchObject({
      state: 'queued',
      trigger: 'tag',
      ref: 'refs/tags/v1.2.3',
      commit: payload.head_commit.id,
    });
  });

  it('of tag foo queues nothing', async () => {
    const payload = forRepo(examplePayload('pushTag')) as Record<string, any>;
    expect(payload.ref).toBe('refs/tags/simple-tag');
    await expectNothingQueued(await send('push', payload), 'simple-tag');
    payload.ref = 'refs/tags/foo';
    await expectNothingQueued(await send('push', payload), 'foo');
  });

  it('with a hostile ref or commit id queues nothing', async () => {
    for (const ref of ['refs/heads/--upload-pack=touch /tmp/pwned', 'refs/tags/v1$(id)', 'refs/tags/v1..2', 'refs/notes/main']) {
      await expectNothingQueued(await send('push', forRepo(pushPayload(REPO, ref, fakeSha(ref)))));
    }
    const badSha = forRepo(pushPayload(REPO, 'refs/heads/main', fakeSha('x')));
    badSha.after = '--upload-pack=touch /tmp/pwned';
    badSha.head_commit = null;
    await expectNothingQueued(await send('push', badSha), 'after');
  });

  it('follows the environment settings: a tracked branch, a changed tag pattern', async () => {
    const preview = await api.request({
      method: 'POST',
      url: `/apps/${app.name}/environments`,
      payload: { name: 'preview', branch: 'develop', tagPattern: 'rc-*' },
    });
    expect(preview.statusCode, preview.body).toBe(201);
    await expectQueued(await send('push', forRepo(pushPayload(REPO, 'refs/heads/develop', fakeSha('dev')))), 'preview');
    const tag = forRepo(examplePayload('pushTag')) as Record<string, any>;
    tag.ref = 'refs/tags/rc-7';
    await expectQueued(await send('push', tag), 'preview');
    await api.request({ method: 'DELETE', url: `/apps/${app.name}/environments/preview` });
  });
});

describe('release', () => {
  it('published with tag v2.0.0 queues production by tag, with no commit yet', async () => {
    const payload = forRepo(examplePayload('releasePublished')) as Record<string, any>;
    payload.release.tag_name = 'v2.0.0';
    const deployment = await expectQueued(await send('release', payload), 'production');
    expect(deployment).toMatchObject({ state: 'queued', trigger: 'tag', ref: 'refs/tags/v2.0.0', commit: null });
  });

  it('published with a tag outside the pattern, or not published, queues nothing', async () => {
    const example = forRepo(examplePayload('releasePublished')) as Record<string, any>;
    expect(example.release.tag_name).toBe('0.0.1');
    await expectNothingQueued(await send('release', example), '0.0.1');
    const created = forRepo(examplePayload('releaseCreated')) as Record<string, any>;
    created.release.tag_name = 'v2.0.1';
    await expectNothingQueued(await send('release', created), 'published');
  });
});

describe('pull_request', () => {
  const closed = (merged: boolean, base = 'main') => {
    const payload = forRepo(examplePayload('pullRequestClosed')) as Record<string, any>;
    payload.pull_request.merged = merged;
    payload.pull_request.base.ref = base;
    return payload;
  };

  it('closed and merged into main queues staging at the merge commit', async () => {
    const payload = closed(true);
    const deployment = await expectQueued(await send('pull_request', payload), 'staging');
    expect(deployment).toMatchObject({
      state: 'queued',
      trigger: 'push',
      ref: 'refs/heads/main',
      commit: payload.pull_request.merge_commit_sha,
    });
  });

  it('closed without merging or merged into another branch: nothing', async () => {
    await expectNothingQueued(await send('pull_request', closed(false)), 'without merging');
    await expectNothingQueued(await send('pull_request', closed(true, 'release/1')), 'release/1');
  });

  it('opened queues its preview pr-<number> at the head commit (test/previews covers previews)', async () => {
    const opened = forRepo(examplePayload('pullRequestOpened')) as Record<string, any>;
    // Later than the example close the tests above delivered: an older one would be out of order.
    opened.pull_request.updated_at = new Date().toISOString();
    const deployment = await expectQueued(await send('pull_request', opened), 'pr-2');
    expect(deployment).toMatchObject({ trigger: 'push', ref: 'refs/pull/2/head', commit: opened.pull_request.head.sha });
    await api.request({ method: 'DELETE', url: `/apps/${app.name}/environments/pr-2` });
  });
});

describe('other events', () => {
  it('issues answers 202 and queues nothing', async () => {
    await expectNothingQueued(await send('issues', forRepo(examplePayload('issuesOpened'))), 'not a deploy trigger');
  });
});

describe('repository matching', () => {
  it('refuses a delivery for a repository no app has with 401', async () => {
    const payload = forRepo(pushPayload(REPO, 'refs/heads/main', fakeSha('unknown')));
    payload.repository.full_name = 'acme-route/other';
    const before = await snapshotState(api.database.sql);
    expectError(await send('push', payload), 401, 'unauthorized');
    expectError(await send('push', examplePayload('pushBranch')), 401, 'unauthorized');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('matches the full name case-insensitively, as GitHub does', async () => {
    const payload = forRepo(pushPayload(REPO, 'refs/heads/main', fakeSha('case')));
    payload.repository.full_name = REPO.toUpperCase();
    await expectQueued(await send('push', payload), 'staging');
  });

  it('never takes the clone URL from the payload', async () => {
    const payload = forRepo(pushPayload(REPO, 'refs/heads/main', fakeSha('clone-url')));
    expect(payload.repository.clone_url).toBe(EVIL_URL);
    const res = await send('push', payload);
    expect(res.statusCode).toBe(202);
    // Nothing Pier stored, nor the app it shows, holds the payload's URL.
    const stored = JSON.stringify(await snapshotState(api.database.sql));
    expect(stored).not.toContain('evil.invalid');
    const shown = (await api.request({ method: 'GET', url: `/apps/${app.name}` })).json();
    expect(shown.repository).toEqual({ fullName: REPO, cloneUrl: CLONE_URL });
  });
});

describe('answers', () => {
  it('come well under a second', async () => {
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await send('push', forRepo(pushPayload(REPO, 'refs/heads/main', fakeSha(`fast-${i}`))));
      timings.push(performance.now() - started);
      expect(res.statusCode).toBe(202);
    }
    timings.sort((a, b) => a - b);
    // The median, so that one slow moment of a shared two-core machine does not decide.
    expect(timings[2]).toBeLessThan(500);
  });
});
