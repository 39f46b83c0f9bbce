import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullRequestPayload } from '../previews/pull-request-payloads.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { examplePayload, pushPayload, sendWebhook } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, uniqueAppName } from '../webhooks/webhook-fixtures.ts';

/**
 * A signed delivery replayed under a new delivery id never moves an
 * environment back: pushes are ordered per app and ref by
 * `repository.pushed_at`, merges as pushes to their base at `merged_at`,
 * releases per tag by `published_at`. A real force-push back to an older
 * commit is a newer push and still deploys.
 */

let api: TestApi;
let app: CreatedApp;
const REPO = 'acme-replay/shop';

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('replay'), { fullName: REPO, cloneUrl: 'file:///srv/git/replay.git' });
});
afterAll(async () => api?.close());

function push(sha: string, pushedAt: number, ref = 'refs/heads/main') {
  const payload = pushPayload(REPO, ref, sha);
  payload.repository.pushed_at = pushedAt;
  return payload;
}

async function deliver(event: string, payload: unknown) {
  const res = await sendWebhook(api.app, { event, payload, secret: app.secret });
  expect(res.statusCode, res.body).toBe(202);
  return res.json() as { deployments: { id: string }[]; ignored?: string };
}

/** The commit of the newest deployment of `environment`. */
async function newestCommit(environment: string): Promise<string | null> {
  const res = await api.request({ method: 'GET', url: `/apps/${app.name}/environments/${environment}/deployments` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().deployments[0]?.commit ?? null;
}

describe('replayed deliveries', () => {
  it('a replayed older push deploys nothing and says why; a real force-push back still deploys', async () => {
    const old = fakeSha('replay-old');
    const current = fakeSha('replay-new');
    const oldPush = push(old, 1_800_000_000);
    expect((await deliver('push', oldPush)).deployments).toHaveLength(1);
    expect((await deliver('push', push(current, 1_800_000_060))).deployments).toHaveLength(1);

    const replay = await deliver('push', oldPush);
    expect(replay.deployments).toEqual([]);
    expect(replay.ignored).toContain('replayed or late delivery deploys nothing');
    expect(await newestCommit('staging')).toBe(current);

    // The newest push itself replayed: the same delivery again under a new id.
    const again = await deliver('push', push(current, 1_800_000_060));
    expect(again.deployments).toEqual([]);
    expect(again.ignored).toContain('the same delivery, already applied');

    const forcePushBack = await deliver('push', push(old, 1_800_000_120));
    expect(forcePushBack.deployments).toHaveLength(1);
    expect(await newestCommit('staging')).toBe(old);
  });

  it('two pushes within one second both apply (GitHub times are to the second), and replaying them in turn applies neither', async () => {
    const first = push(fakeSha('same-second-1'), 1_800_001_000);
    const second = push(fakeSha('same-second-2'), 1_800_001_000);
    expect((await deliver('push', first)).deployments).toHaveLength(1);
    expect((await deliver('push', second)).deployments).toHaveLength(1);
    for (const replay of [first, second, first]) {
      const answer = await deliver('push', replay);
      expect(answer.deployments).toEqual([]);
      expect(answer.ignored).toContain('the same delivery, already applied');
    }
    expect(await newestCommit('staging')).toBe(fakeSha('same-second-2'));
  });

  it('a replayed release deploys nothing', async () => {
    const release = examplePayload('releasePublished') as Record<string, any>;
    release.repository = { ...release.repository, full_name: REPO };
    release.release.tag_name = 'v9.0.0';
    release.release.published_at = '2027-01-01T00:00:00Z';
    expect((await deliver('release', release)).deployments).toHaveLength(1);
    const replay = await deliver('release', release);
    expect(replay.deployments).toEqual([]);
    expect(replay.ignored).toContain('release v9.0.0');
  });

  it('a replayed merge of an old pull request is older than the pushes that followed it', async () => {
    const mergeSha = fakeSha('merge');
    const merged = pullRequestPayload({
      repository: REPO,
      number: 7,
      action: 'closed',
      sha: fakeSha('head'),
      merged: true,
      mergeSha,
      updatedAt: new Date('2027-02-01T00:00:00Z'),
    });
    merged.pull_request.merged_at = '2027-02-01T00:00:00Z';
    expect((await deliver('pull_request', merged)).deployments).toHaveLength(1);
    const later = fakeSha('after-merge');
    expect((await deliver('push', push(later, Date.parse('2027-02-01T00:05:00Z') / 1000))).deployments).toHaveLength(1);

    const replay = await deliver('pull_request', merged);
    expect(replay.deployments).toEqual([]);
    expect(await newestCommit('staging')).toBe(later);
  });
});
