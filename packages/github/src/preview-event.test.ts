import { describe, expect, it } from 'vitest';
import { examplePayload } from './example-payloads.ts';
import { isPreviewName, previewEnvironmentName } from './preview-name.ts';
import type { EnvironmentTrigger, PreviewDecision, RouteDecision } from './route-decision.ts';
import { routeEvent } from './route-event.ts';

const environments: EnvironmentTrigger[] = [
  { id: 'env-production', name: 'production', branch: null, tagPattern: 'v*' },
  { id: 'env-staging', name: 'staging', branch: 'master', tagPattern: null },
];

const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
/** Codertocat/Hello-World, the examples' base (and, unless changed, head) repository. */
const BASE_REPO_ID = 186853002;

type Pull = Record<string, any>;
type PullPayload = { pull_request: Pull; action: string };

function changed(name: Parameters<typeof examplePayload>[0], change: (pull: Pull, payload: PullPayload) => void): unknown {
  const payload = examplePayload(name) as unknown as PullPayload;
  change(payload.pull_request, payload);
  return payload;
}

/** The head moved to a fork: another repository id and owner. */
const fromFork = (pull: Pull) => {
  pull.head.repo = { ...pull.head.repo, id: 9_999_001, full_name: 'mallory/Hello-World', fork: true };
  pull.head.label = 'mallory:changes';
};

const preview = (overrides: Partial<PreviewDecision> = {}): PreviewDecision => ({
  kind: 'preview',
  pullRequest: 2,
  environmentName: 'pr-2',
  sha: HEAD,
  headRef: 'changes',
  fromFork: false,
  summary: {
    message: 'Update the README with new information.',
    author: 'Codertocat',
    url: 'https://github.com/Codertocat/Hello-World/pull/2',
  },
  updatedAt: new Date('2019-05-15T15:20:33Z'),
  reopened: false,
  ...overrides,
});

const ignoredBecause = (text: string) => ({ kind: 'ignored', reason: expect.stringContaining(text) });

describe('routeEvent: pull request previews', () => {
  it.each<[string, () => unknown, RouteDecision | ReturnType<typeof ignoredBecause>]>([
    ['opened from a branch of the repository', () => examplePayload('pullRequestOpened'), preview()],
    ['synchronized (new commits pushed)', () => examplePayload('pullRequestSynchronize'), preview()],
    ['reopened', () => examplePayload('pullRequestReopened'), preview({ reopened: true })],
    ['opened as a draft: drafts are previewed too', () => changed('pullRequestOpened', (pull) => (pull.draft = true)), preview()],
    [
      'ready for review: the draft already has its preview',
      () => examplePayload('pullRequestReadyForReview'),
      ignoredBecause('action is not'),
    ],
    ['opened from a fork', () => changed('pullRequestOpened', fromFork), preview({ fromFork: true })],
    [
      'opened from a fork that has since been deleted',
      () => changed('pullRequestOpened', (pull) => (pull.head.repo = null)),
      preview({ fromFork: true }),
    ],
    [
      'a fork with the same name as the base is still a fork (ids differ)',
      () => changed('pullRequestOpened', (pull) => (pull.head.repo = { ...pull.head.repo, id: BASE_REPO_ID + 1 })),
      preview({ fromFork: true }),
    ],
    [
      'without updated_at: no time to order it by',
      () => changed('pullRequestOpened', (pull) => delete pull.updated_at),
      preview({ updatedAt: null }),
    ],
    [
      'a malformed updated_at counts as absent',
      () => changed('pullRequestSynchronize', (pull) => (pull.updated_at = 'yesterday')),
      preview({ updatedAt: null }),
    ],
    [
      'a large pull request number',
      () => changed('pullRequestOpened', (pull) => (pull.number = 2_147_483_647)),
      preview({ pullRequest: 2_147_483_647, environmentName: 'pr-2147483647' }),
    ],
    [
      'a title over several lines is summarised by its first',
      () => changed('pullRequestSynchronize', (pull) => (pull.title = 'Fix login\n\nlong body')),
      preview({ summary: { ...preview().summary, message: 'Fix login' } }),
    ],
    [
      'a link that is not http(s) is dropped',
      () => changed('pullRequestOpened', (pull) => (pull.html_url = 'javascript:alert(1)')),
      preview({ summary: { message: 'Update the README with new information.', author: 'Codertocat' } }),
    ],
    [
      'a number above 32 bits',
      () => changed('pullRequestOpened', (pull) => (pull.number = 2_147_483_648)),
      ignoredBecause('malformed at pull_request.number'),
    ],
    ['number zero', () => changed('pullRequestOpened', (pull) => (pull.number = 0)), ignoredBecause('pull_request.number')],
    [
      'a fractional number',
      () => changed('pullRequestOpened', (pull) => (pull.number = 2.5)),
      ignoredBecause('pull_request.number'),
    ],
    [
      'a number given as text',
      () => changed('pullRequestOpened', (pull) => (pull.number = '2')),
      ignoredBecause('pull_request.number'),
    ],
    [
      'a head that is not a commit id',
      () => changed('pullRequestOpened', (pull) => (pull.head.sha = 'HEAD~1')),
      ignoredBecause('malformed at pull_request.head.sha'),
    ],
    [
      'an upper-case head commit id',
      () => changed('pullRequestOpened', (pull) => (pull.head.sha = HEAD.toUpperCase())),
      ignoredBecause('pull_request.head.sha'),
    ],
    [
      'a head branch that could be a git option',
      () => changed('pullRequestOpened', (pull) => (pull.head.ref = '--upload-pack=touch /tmp/x')),
      ignoredBecause('head branch name refused'),
    ],
    [
      'a head branch with shell characters',
      () => changed('pullRequestSynchronize', (pull) => (pull.head.ref = 'x;rm -rf /')),
      ignoredBecause('head branch name refused'),
    ],
    [
      'no head repository field at all',
      () => changed('pullRequestOpened', (pull) => Reflect.deleteProperty(pull.head, 'repo')),
      ignoredBecause('malformed at pull_request.head.repo'),
    ],
    [
      'a head repository id that is not a number',
      () => changed('pullRequestOpened', (pull) => (pull.head.repo.id = '186853002')),
      ignoredBecause('pull_request.head.repo.id'),
    ],
    [
      'no base repository',
      () => changed('pullRequestOpened', (pull) => Reflect.deleteProperty(pull.base, 'repo')),
      ignoredBecause('malformed at pull_request.base.repo'),
    ],
    ['no pull_request at all', () => ({ action: 'opened', number: 2 }), ignoredBecause('malformed at pull_request')],
    [
      'no action',
      () => changed('pullRequestOpened', (_pull, p) => Reflect.deleteProperty(p, 'action')),
      ignoredBecause('action'),
    ],
    [
      'closed: the preview goes',
      () => examplePayload('pullRequestClosed'),
      {
        kind: 'preview-close',
        pullRequest: 2,
        environmentName: 'pr-2',
        updatedAt: new Date('2019-05-15T15:21:18Z'),
        merge: ignoredBecause('closed without merging'),
      } as unknown as RouteDecision,
    ],
    [
      'closed from a fork: the preview goes too',
      () => changed('pullRequestClosed', fromFork),
      expect.objectContaining({ kind: 'preview-close', pullRequest: 2 }),
    ],
    [
      'closed with a head branch that would be refused: closing needs only the number',
      () => changed('pullRequestClosed', (pull) => (pull.head.ref = '-x')),
      expect.objectContaining({ kind: 'preview-close', pullRequest: 2 }),
    ],
    [
      'closed with a malformed number and no merge',
      () => changed('pullRequestClosed', (pull) => (pull.number = -1)),
      ignoredBecause('malformed at pull_request.number'),
    ],
  ])('%s', (_case, payload, expected) => {
    expect(routeEvent('pull_request', payload(), environments)).toEqual(expected);
  });

  it('never takes the preview from the payload’s repository or URLs: only the number names it', () => {
    const decision = routeEvent(
      'pull_request',
      changed('pullRequestOpened', (pull, payload) => {
        (payload as Record<string, any>).repository.clone_url = 'https://evil.invalid/x.git';
        pull.head.repo.clone_url = 'https://evil.invalid/x.git';
      }),
      environments,
    );
    expect(Object.keys(decision).sort()).toEqual([
      'environmentName',
      'fromFork',
      'headRef',
      'kind',
      'pullRequest',
      'reopened',
      'sha',
      'summary',
      'updatedAt',
    ]);
  });
});

describe('preview names', () => {
  it.each<[string, boolean]>([
    ['pr-1', true],
    ['pr-2147483647', true],
    ['pr-', false],
    ['pr-x', false],
    ['pr-1-x', false],
    ['xpr-1', false],
    ['preview', false],
    ['staging', false],
  ])('%s is a preview name: %s', (name, expected) => {
    expect(isPreviewName(name)).toBe(expected);
  });

  it('names pull request n pr-n', () => {
    expect(previewEnvironmentName(42)).toBe('pr-42');
    expect(isPreviewName(previewEnvironmentName(42))).toBe(true);
  });
});
