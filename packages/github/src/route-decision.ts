/** An environment as far as webhook routing cares: what it deploys from. */
export interface EnvironmentTrigger {
  id: string;
  name: string;
  /** Deploy every push to this branch; null: no branch trigger. */
  branch: string | null;
  /** Deploy every tag whose name matches this glob (`*`, `?`); null: no tag trigger. */
  tagPattern: string | null;
}

export interface DeployTarget {
  environmentId: string;
  environmentName: string;
}

export interface GitRef {
  kind: 'branch' | 'tag';
  /** Short name, `main` or `v1.2.0`, already checked with core's `branchProblem`. */
  name: string;
}

/** What to show for the deployment; every field comes from the payload and may be absent. */
export interface DeploySummary {
  /** First line of the commit message, release name or pull request title; at most 200 characters. */
  message?: string;
  author?: string;
  /** An http(s) link to the commit, release or pull request. */
  url?: string;
}

/** The GitHub events that can start a deployment. */
export type DeployEvent = 'push' | 'release' | 'pull_request';

export interface DeployDecision {
  kind: 'deploy';
  /** The event that asked for it (a merged pull request is `pull_request`, its trigger `push`). */
  event: DeployEvent;
  /** Never empty. */
  targets: DeployTarget[];
  ref: GitRef;
  /** Lower-case hex commit id; null for a release, whose payload has none: resolve `ref` when fetching. */
  sha: string | null;
  trigger: 'push' | 'tag';
  summary: DeploySummary;
}

export type RouteDecision = { kind: 'ping' } | { kind: 'ignored'; reason: string } | DeployDecision;

export function ignored(reason: string): RouteDecision {
  return { kind: 'ignored', reason };
}
