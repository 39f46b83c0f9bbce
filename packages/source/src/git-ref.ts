import { branchProblem, type GitRef, ValidationError } from '@pier/core';

const SHA_PATTERN = /^[0-9a-f]{40}$/;

/** Throws a ValidationError naming `sha` unless it is a full 40-hex commit id; returns it in lower case. */
export function assertSha(sha: string): string {
  const lower = sha.toLowerCase();
  if (!SHA_PATTERN.test(lower)) throw new ValidationError('sha: must be a full 40-character hexadecimal commit id', 'sha');
  return lower;
}

/** Throws a ValidationError naming `branch` or `tag` when a ref name breaks core's branch-name rules. */
export function assertRefName(ref: Exclude<GitRef, { kind: 'commit' }>): string {
  const problem = branchProblem(ref.name);
  if (problem) throw new ValidationError(`${ref.kind}: ${problem}`, ref.kind);
  return ref.name;
}

/** The refs to ask `git ls-remote` for: a branch head, or a tag and its peeled commit. */
export function remoteRefs(ref: Exclude<GitRef, { kind: 'commit' }>): string[] {
  if (ref.kind === 'branch') return [`refs/heads/${ref.name}`];
  return [`refs/tags/${ref.name}`, `refs/tags/${ref.name}^{}`];
}

/**
 * The commit a ref points at, from `git ls-remote` output. ls-remote matches
 * patterns by suffix, so only exact names count; an annotated tag's peeled
 * `^{}` line wins over the tag object's own id.
 */
export function pickCommit(lsRemoteOutput: string, refs: readonly string[]): string | undefined {
  const found = new Map<string, string>();
  for (const line of lsRemoteOutput.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha !== undefined && name !== undefined && SHA_PATTERN.test(sha)) found.set(name, sha);
  }
  const preferred = [...refs].reverse();
  return preferred.map((name) => found.get(name)).find((sha) => sha !== undefined);
}
