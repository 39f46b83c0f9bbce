import { describe, expect, it } from 'vitest';
import { examplePayload, loadDefinitions } from './example-payloads.ts';
import type { EnvironmentTrigger, RouteDecision } from './route-decision.ts';
import { routeEvent } from './route-event.ts';

const environments: EnvironmentTrigger[] = [
  { id: 'env-production', name: 'production', branch: null, tagPattern: 'v*' },
  { id: 'env-staging', name: 'staging', branch: 'master', tagPattern: null },
  { id: 'env-qa', name: 'qa', branch: 'master', tagPattern: 'simple-*' },
  { id: 'env-releases', name: 'releases', branch: null, tagPattern: '?.?.?' },
  { id: 'env-preview', name: 'preview', branch: 'feature/login', tagPattern: null },
  // A stored pattern that no longer passes validation never matches.
  { id: 'env-broken', name: 'broken', branch: null, tagPattern: '-*' },
];

const COMMIT = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const MERGE_COMMIT = 'c4295bd74fb0f4fda03689c3df3f2803b658fd85';
const ANNOTATED_TAG_OBJECT = 'a'.repeat(40);

const staging = { environmentId: 'env-staging', environmentName: 'staging' };
const qa = { environmentId: 'env-qa', environmentName: 'qa' };
const production = { environmentId: 'env-production', environmentName: 'production' };
const releases = { environmentId: 'env-releases', environmentName: 'releases' };
const preview = { environmentId: 'env-preview', environmentName: 'preview' };

const initialCommit = {
  message: 'Initial commit',
  author: 'Codertocat',
  url: `https://github.com/Codertocat/Hello-World/commit/${COMMIT}`,
};
const gitignoreCommit = { ...initialCommit, message: 'Adding a .gitignore file' };
/** The examples' `repository.pushed_at`, Unix seconds. */
const PUSHED_AT = new Date(1557933657 * 1000);
const pushOrder = (ref: string, identity = COMMIT) => ({ key: ref, at: PUSHED_AT, identity });
const releaseOrder = (tag: string) => ({ key: `release:${tag}`, at: new Date('2019-05-15T15:20:53Z'), identity: '17372790' });

function changed<T>(payload: T, change: (payload: T) => void): T {
  change(payload);
  return payload;
}

const push = (ref: string) => changed(examplePayload('pushBranch'), (p) => (p.ref = ref));
const pushTag = (ref: string) => changed(examplePayload('pushTag'), (p) => (p.ref = ref));
const published = (tag: string) => changed(examplePayload('releasePublished'), (p) => (p.release.tag_name = tag));
const merged = (change: (pull: Record<string, unknown>) => void = () => {}) =>
  changed(examplePayload('pullRequestClosed'), (p) => {
    const pull = p.pull_request as unknown as Record<string, unknown>;
    pull.merged = true;
    change(pull);
  });
const ignoredBecause = (text: string) => ({ kind: 'ignored', reason: expect.stringContaining(text) });
const closed = (merge: unknown) => ({
  kind: 'preview-close',
  pullRequest: 2,
  environmentName: 'pr-2',
  updatedAt: new Date('2019-05-15T15:21:18Z'),
  merge,
});

describe('routeEvent', () => {
  it.each<[string, string, () => unknown, RouteDecision | ReturnType<typeof ignoredBecause> | ReturnType<typeof closed>]>([
    ['ping from a repository hook', 'ping', () => examplePayload('pingRepository'), { kind: 'ping' }],
    ['ping from an organisation hook', 'ping', () => examplePayload('pingOrganization'), { kind: 'ping' }],

    [
      'push to a tracked branch deploys every environment tracking it',
      'push',
      () => examplePayload('pushBranch'),
      {
        kind: 'deploy',
        event: 'push',
        targets: [staging, qa],
        ref: { kind: 'branch', name: 'master' },
        sha: COMMIT,
        trigger: 'push',
        summary: initialCommit,
        order: pushOrder('refs/heads/master'),
      },
    ],
    [
      'push to a branch with a slash',
      'push',
      () => push('refs/heads/feature/login'),
      {
        kind: 'deploy',
        event: 'push',
        targets: [preview],
        ref: { kind: 'branch', name: 'feature/login' },
        sha: COMMIT,
        trigger: 'push',
        summary: initialCommit,
        order: pushOrder('refs/heads/feature/login'),
      },
    ],
    [
      'push to an untracked branch',
      'push',
      () => push('refs/heads/develop'),
      ignoredBecause('no environment deploys branch develop'),
    ],
    ['push to a branch named like a tag pattern', 'push', () => push('refs/heads/v1.0.0'), ignoredBecause('no environment')],
    [
      'push without head_commit falls back to pusher and compare link',
      'push',
      () => changed(examplePayload('pushBranch'), (p) => (p.head_commit = null)),
      {
        kind: 'deploy',
        event: 'push',
        targets: [staging, qa],
        ref: { kind: 'branch', name: 'master' },
        sha: COMMIT,
        trigger: 'push',
        summary: { author: 'Codertocat', url: `https://github.com/Codertocat/Hello-World/commit/${COMMIT}` },
        order: pushOrder('refs/heads/master'),
      },
    ],
    [
      'push of a tag deploys environments whose pattern matches',
      'push',
      () => examplePayload('pushTag'),
      {
        kind: 'deploy',
        event: 'push',
        targets: [qa],
        ref: { kind: 'tag', name: 'simple-tag' },
        sha: COMMIT,
        trigger: 'tag',
        summary: gitignoreCommit,
        order: pushOrder('refs/tags/simple-tag'),
      },
    ],
    [
      'push of a v* tag',
      'push',
      () => pushTag('refs/tags/v1.2.0'),
      {
        kind: 'deploy',
        event: 'push',
        targets: [production],
        ref: { kind: 'tag', name: 'v1.2.0' },
        sha: COMMIT,
        trigger: 'tag',
        summary: gitignoreCommit,
        order: pushOrder('refs/tags/v1.2.0'),
      },
    ],
    [
      'push of an annotated tag deploys the commit, not the tag object',
      'push',
      () => changed(examplePayload('pushTag'), (p) => (p.after = ANNOTATED_TAG_OBJECT)),
      {
        kind: 'deploy',
        event: 'push',
        targets: [qa],
        ref: { kind: 'tag', name: 'simple-tag' },
        sha: COMMIT,
        trigger: 'tag',
        summary: gitignoreCommit,
        order: pushOrder('refs/tags/simple-tag', ANNOTATED_TAG_OBJECT),
      },
    ],
    [
      'push of a tag matching nothing',
      'push',
      () => pushTag('refs/tags/nightly'),
      ignoredBecause('no environment deploys tag nightly'),
    ],
    ['push deleting a tag', 'push', () => examplePayload('pushTagDeleted'), ignoredBecause('deletes')],
    [
      'push deleting a tracked branch',
      'push',
      () => changed(examplePayload('pushTagDeleted'), (p) => (p.ref = 'refs/heads/master')),
      ignoredBecause('deletes'),
    ],
    [
      'push with an all-zero after but no deleted flag',
      'push',
      () => changed(examplePayload('pushBranch'), (p) => (p.after = '0'.repeat(40))),
      ignoredBecause('deletes'),
    ],
    ['push to refs/notes', 'push', () => push('refs/notes/commits'), ignoredBecause('not to a branch or a tag')],
    ['push to a bare ref name', 'push', () => push('master'), ignoredBecause('not to a branch or a tag')],
    ['push to a branch starting with a dash', 'push', () => push('refs/heads/-rf'), ignoredBecause('branch name refused')],
    ['push to a branch with ..', 'push', () => push('refs/heads/a..b'), ignoredBecause('branch name refused')],
    ['push to a branch with shell syntax', 'push', () => push('refs/heads/$(id)'), ignoredBecause('branch name refused')],
    ['push to refs/heads/ (empty name)', 'push', () => push('refs/heads/'), ignoredBecause('branch name refused')],
    ['push of a tag with a space', 'push', () => pushTag('refs/tags/v1 x'), ignoredBecause('tag name refused')],
    [
      'push whose after is not a commit id',
      'push',
      () => changed(examplePayload('pushBranch'), (p) => (p.after = '--upload-pack=evil')),
      ignoredBecause('push payload is malformed at after'),
    ],
    [
      'push whose head_commit id is not a commit id',
      'push',
      () =>
        changed(examplePayload('pushTag'), (p) => {
          if (p.head_commit) p.head_commit.id = 'HEAD';
        }),
      ignoredBecause('push payload is malformed at head_commit.id'),
    ],
    [
      'push without ref',
      'push',
      () => changed(examplePayload('pushBranch'), (p) => Reflect.deleteProperty(p, 'ref')),
      ignoredBecause('malformed at ref'),
    ],
    ['push with a null payload', 'push', () => null, ignoredBecause('push payload is malformed')],
    ['push with a string payload', 'push', () => 'refs/heads/master', ignoredBecause('push payload is malformed')],

    [
      'release published with a matching tag',
      'release',
      () => examplePayload('releasePublished'),
      {
        kind: 'deploy',
        event: 'release',
        targets: [releases],
        ref: { kind: 'tag', name: '0.0.1' },
        sha: null,
        trigger: 'tag',
        summary: { message: '0.0.1', author: 'Codertocat', url: 'https://github.com/Codertocat/Hello-World/releases/tag/0.0.1' },
        order: releaseOrder('0.0.1'),
      },
    ],
    [
      'release published with a v* tag and a name',
      'release',
      () => changed(published('v2.0.0'), (p) => (p.release.name = 'Version two')),
      {
        kind: 'deploy',
        event: 'release',
        targets: [production],
        ref: { kind: 'tag', name: 'v2.0.0' },
        sha: null,
        trigger: 'tag',
        summary: {
          message: 'Version two',
          author: 'Codertocat',
          url: 'https://github.com/Codertocat/Hello-World/releases/tag/0.0.1',
        },
        order: releaseOrder('v2.0.0'),
      },
    ],
    [
      'release published with a tag matching nothing',
      'release',
      () => published('nightly'),
      ignoredBecause('no environment deploys tag'),
    ],
    ['release published with a bad tag name', 'release', () => published('-x'), ignoredBecause('tag name refused')],
    ['release created', 'release', () => examplePayload('releaseCreated'), ignoredBecause('not published')],
    [
      'release published without a tag',
      'release',
      () => changed(examplePayload('releasePublished'), (p) => Reflect.deleteProperty(p.release, 'tag_name')),
      ignoredBecause('release payload is malformed at release.tag_name'),
    ],

    [
      'pull request merged into a tracked branch closes its preview and deploys every environment tracking the base',
      'pull_request',
      () => merged(),
      closed({
        kind: 'deploy',
        event: 'pull_request',
        targets: [staging, qa],
        ref: { kind: 'branch', name: 'master' },
        sha: MERGE_COMMIT,
        trigger: 'push',
        summary: {
          message: 'Update the README with new information.',
          author: 'Codertocat',
          url: 'https://github.com/Codertocat/Hello-World/pull/2',
        },
      }),
    ],
    [
      'pull request merged by someone else names the merger',
      'pull_request',
      () => merged((pull) => (pull.merged_by = { login: 'octocat' })),
      closed(expect.objectContaining({ kind: 'deploy', summary: expect.objectContaining({ author: 'octocat' }) })),
    ],
    [
      'pull request merged into an untracked branch',
      'pull_request',
      () => merged((pull) => ((pull.base as { ref: string }).ref = 'develop')),
      closed(ignoredBecause('no environment deploys branch develop')),
    ],
    [
      'pull request merged into a badly named branch',
      'pull_request',
      () => merged((pull) => ((pull.base as { ref: string }).ref = 'a b')),
      closed(ignoredBecause('branch name refused')),
    ],
    [
      'pull request merged without merge commit',
      'pull_request',
      () => merged((pull) => (pull.merge_commit_sha = null)),
      closed(ignoredBecause('no merge commit')),
    ],
    [
      'pull request merged with a bad merge commit',
      'pull_request',
      () => merged((pull) => (pull.merge_commit_sha = 'master')),
      closed(ignoredBecause('malformed at pull_request.merge_commit_sha')),
    ],
    [
      'pull request closed without merging',
      'pull_request',
      () => examplePayload('pullRequestClosed'),
      closed(ignoredBecause('without merging')),
    ],
    [
      'pull request merged, its number unreadable: the merge still deploys',
      'pull_request',
      () => merged((pull) => (pull.number = 'two')),
      expect.objectContaining({ kind: 'deploy', targets: [staging, qa] }),
    ],
    [
      'pull request opened',
      'pull_request',
      () => examplePayload('pullRequestOpened'),
      expect.objectContaining({ kind: 'preview', environmentName: 'pr-2' }),
    ],
    [
      'pull request synchronized',
      'pull_request',
      () => examplePayload('pullRequestSynchronize'),
      expect.objectContaining({ kind: 'preview', environmentName: 'pr-2' }),
    ],
    ['pull request labeled', 'pull_request', () => examplePayload('pullRequestLabeled'), ignoredBecause('action is not')],
    ['an issue', 'issues', () => examplePayload('issuesOpened'), ignoredBecause('not a deploy trigger')],
    ['an unknown event', 'workflow_job', () => ({}), ignoredBecause('not a deploy trigger')],
    [
      'a check event without a payload to speak of',
      'workflow_run',
      () => ({}),
      ignoredBecause('workflow_run payload is malformed'),
    ],
    ['no event name', '', () => examplePayload('pushBranch'), ignoredBecause('not a deploy trigger')],
    ['a push sent as another event', 'create', () => examplePayload('pushBranch'), ignoredBecause('not a deploy trigger')],
  ])('%s', (_case, event, payload, expected) => {
    expect(routeEvent(event, payload(), environments)).toEqual(expected);
  });

  it('deploys nothing when the app has no environments', () => {
    expect(routeEvent('push', examplePayload('pushBranch'), [])).toEqual(ignoredBecause('no environment'));
  });

  it('summarises only the first line of a long message, and drops links that are not http(s)', () => {
    const payload = changed(examplePayload('pushBranch'), (p) => {
      if (!p.head_commit) throw new Error('example has a head_commit');
      p.head_commit.message = `${'x'.repeat(300)}\n\nbody`;
      p.head_commit.url = 'javascript:alert(1)';
      p.compare = 'javascript:alert(1)';
    });
    const decision = routeEvent('push', payload, environments);
    expect(decision).toMatchObject({ kind: 'deploy', summary: { author: 'Codertocat' } });
    if (decision.kind !== 'deploy') return;
    expect(decision.summary.message).toHaveLength(200);
    expect(decision.summary.message?.endsWith('…')).toBe(true);
    expect(decision.summary.url).toBeUndefined();
  });

  it('decides on every example payload of every event without throwing', () => {
    let deploys = 0;
    for (const { name, examples } of loadDefinitions()) {
      for (const example of examples) {
        const routed = routeEvent(name, example, environments);
        expect(['ping', 'ignored', 'deploy', 'preview', 'preview-close', 'check']).toContain(routed.kind);
        const decision = routed.kind === 'preview-close' ? routed.merge : routed;
        if (decision.kind === 'deploy') {
          deploys++;
          expect(decision.targets.length).toBeGreaterThan(0);
          expect(decision.sha === null || /^[0-9a-f]{40}$/.test(decision.sha)).toBe(true);
        }
      }
    }
    expect(deploys).toBeGreaterThan(0);
  });
});
