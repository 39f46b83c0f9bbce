import { describe, expect, it } from 'vitest';
import { examplePayload } from './example-payloads.ts';
import { repositoryFullName } from './repository-full-name.ts';

describe('repositoryFullName', () => {
  it.each<[string, string, () => unknown, string | null]>([
    ['a push', 'push', () => examplePayload('pushBranch'), 'Codertocat/Hello-World'],
    ['a repository hook ping', 'ping', () => examplePayload('pingRepository'), 'Octocoders/Hello-World'],
    ['an organisation hook ping', 'ping', () => examplePayload('pingOrganization'), null],
    ['a release', 'release', () => examplePayload('releasePublished'), 'Codertocat/Hello-World'],
    ['a pull request', 'pull_request', () => examplePayload('pullRequestClosed'), 'Codertocat/Hello-World'],
    ['an issue', 'issues', () => examplePayload('issuesOpened'), 'Codertocat/Hello-World'],
    ['a path in the name', 'push', () => ({ repository: { full_name: '../etc/passwd' } }), null],
    ['three segments', 'push', () => ({ repository: { full_name: 'a/b/c' } }), null],
    ['no owner', 'push', () => ({ repository: { full_name: '/b' } }), null],
    ['a number', 'push', () => ({ repository: { full_name: 42 } }), null],
    ['null repository', 'push', () => ({ repository: null }), null],
    ['no payload', 'push', () => null, null],
    ['an array', 'push', () => [], null],
  ])('%s → %j', (_case, event, payload, expected) => {
    expect(repositoryFullName(event, payload())).toBe(expected);
  });
});
