import type { CheckReport } from '@pier/core';

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
  /**
   * When it happened on GitHub, to refuse a delivery that is not newer than
   * the one applied to the same ref (a replay under a new delivery id, or a
   * late one): absent when the payload has no time, and then it applies.
   */
  order?: DeliveryOrder;
}

/** Orders deploying deliveries per app and `key`; `identity` tells a replay from another event of the same second. */
export interface DeliveryOrder {
  /** `refs/heads/<b>` / `refs/tags/<t>` for pushes and merges, `release:<tag>` for releases. */
  key: string;
  at: Date;
  /** The commit pushed or merged, or the release's id. */
  identity: string;
}

/** A pull request opened, reopened or pushed to: its preview environment should run the head commit. */
export interface PreviewDecision {
  kind: 'preview';
  /** The pull request's number, a positive 32-bit integer. */
  pullRequest: number;
  /** `pr-<number>`. */
  environmentName: string;
  /** The head commit, lower-case hex. */
  sha: string;
  /** The head branch in the head repository, checked with core's `branchProblem`. Informational: the build uses `sha`. */
  headRef: string;
  /** The head repository is not the base repository (or no longer exists): untrusted code, no secrets. */
  fromFork: boolean;
  summary: DeploySummary;
  /** `pull_request.updated_at`: orders deliveries GitHub may send out of order; null when absent. */
  updatedAt: Date | null;
  /** The action was `reopened`: it follows a close, also one of the same second. */
  reopened: boolean;
}

/** A pull request closed: its preview goes away; a merge may also deploy the base branch's environments. */
export interface PreviewCloseDecision {
  kind: 'preview-close';
  pullRequest: number;
  environmentName: string;
  /** `pull_request.updated_at` (the close's time); null when absent. */
  updatedAt: Date | null;
  /** What merging asks for besides: a deploy of the environments tracking the base branch, or why there is none. */
  merge: DeployDecision | IgnoredDecision;
}

/** A check of a commit reported (`check_suite`, `check_run`, `status`, `workflow_run`): deployments waiting for it may go on. */
export interface CheckDecision {
  kind: 'check';
  report: CheckReport;
}

export interface IgnoredDecision {
  kind: 'ignored';
  reason: string;
}

export type RouteDecision =
  | { kind: 'ping' }
  | IgnoredDecision
  | DeployDecision
  | PreviewDecision
  | PreviewCloseDecision
  | CheckDecision;

export function ignored(reason: string): IgnoredDecision {
  return { kind: 'ignored', reason };
}
