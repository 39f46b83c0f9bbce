import { branchProblem, tagPatternProblem } from '@pier/core';
import type { DeployTarget, EnvironmentTrigger, GitRef } from './route-decision.ts';
import { matchesTagPattern } from './tag-glob.ts';

function target(environment: EnvironmentTrigger): DeployTarget {
  return { environmentId: environment.id, environmentName: environment.name };
}

/** Environments that deploy this ref: the branch ones by equality, the tag ones by glob. */
export function targetsFor(ref: GitRef, environments: readonly EnvironmentTrigger[]): DeployTarget[] {
  return environments.filter((environment) => triggers(environment, ref)).map(target);
}

function triggers(environment: EnvironmentTrigger, ref: GitRef): boolean {
  if (ref.kind === 'branch') return environment.branch === ref.name;
  const pattern = environment.tagPattern;
  // Stored patterns were validated at the API edge; one that no longer passes deploys nothing.
  return pattern !== null && tagPatternProblem(pattern) === undefined && matchesTagPattern(pattern, ref.name);
}

/** A branch or tag name from a payload, or why it is refused (the same rules as names users type). */
export function refNameProblem(ref: GitRef): string | undefined {
  const problem = branchProblem(ref.name);
  return problem && `${ref.kind} name refused: it ${problem}`;
}

const HEADS = 'refs/heads/';
const TAGS = 'refs/tags/';

/** `refs/heads/main` → branch `main`, `refs/tags/v1` → tag `v1`; any other ref (notes, pull heads) → undefined. */
export function parseFullRef(fullRef: string): GitRef | undefined {
  if (fullRef.startsWith(HEADS)) return { kind: 'branch', name: fullRef.slice(HEADS.length) };
  if (fullRef.startsWith(TAGS)) return { kind: 'tag', name: fullRef.slice(TAGS.length) };
  return undefined;
}
