import { z } from 'zod';
import { decideDeploy } from './decide-deploy.ts';
import { account, commitSha, deploySummary, githubTime, payloadProblem, summaryText, summaryUrl } from './payload-fields.ts';
import { closePreview, routePreview } from './preview-event.ts';
import type { DeployDecision, EnvironmentTrigger, IgnoredDecision, RouteDecision } from './route-decision.ts';
import { ignored } from './route-decision.ts';

const pullRequestAction = z.looseObject({ action: z.string() });

/** Actions that move a pull request's head: its preview follows. A draft is previewed too, so `ready_for_review` is not one. */
const PREVIEW_ACTIONS = new Set(['opened', 'reopened', 'synchronize']);

const mergedPayload = z.looseObject({
  pull_request: z.looseObject({
    merged: z.boolean().nullish(),
    merge_commit_sha: commitSha.nullish(),
    base: z.looseObject({ ref: z.string() }),
    title: summaryText,
    html_url: summaryUrl,
    user: account,
    merged_by: account,
    merged_at: githubTime,
  }),
});

/**
 * Opened, reopened or synchronized: the preview `pr-<number>` runs the head commit. Closed: the preview goes,
 * and a merge also deploys the environments tracking the base branch, at the merge commit.
 */
export function routePullRequest(payload: unknown, environments: readonly EnvironmentTrigger[]): RouteDecision {
  const action = pullRequestAction.safeParse(payload);
  if (!action.success) return ignored(payloadProblem('pull_request', action.error));
  if (PREVIEW_ACTIONS.has(action.data.action)) return routePreview(payload, action.data.action === 'reopened');
  if (action.data.action !== 'closed') {
    return ignored('pull_request action is not opened, reopened, synchronize or closed');
  }
  return closePreview(payload, routeMerge(payload, environments));
}

/** A merged pull request deploys the environments tracking its base branch, at the merge commit. */
function routeMerge(payload: unknown, environments: readonly EnvironmentTrigger[]): DeployDecision | IgnoredDecision {
  const parsed = mergedPayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('pull_request', parsed.error));
  const pull = parsed.data.pull_request;
  if (pull.merged !== true) return ignored('pull request was closed without merging');
  if (!pull.merge_commit_sha) return ignored('merged pull request has no merge commit');
  return decideDeploy(
    {
      event: 'pull_request',
      ref: { kind: 'branch', name: pull.base.ref },
      sha: pull.merge_commit_sha,
      trigger: 'push',
      summary: deploySummary({ message: pull.title, author: pull.merged_by?.login ?? pull.user?.login, url: pull.html_url }),
      // A merge is a push to the base branch: one order per branch, so a replayed merge is older than what followed it.
      ...(pull.merged_at
        ? { order: { key: `refs/heads/${pull.base.ref}`, at: pull.merged_at, identity: pull.merge_commit_sha } }
        : {}),
    },
    environments,
  );
}
