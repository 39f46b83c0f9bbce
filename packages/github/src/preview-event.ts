import { z } from 'zod';
import { account, commitSha, deploySummary, payloadProblem, summaryText, summaryUrl } from './payload-fields.ts';
import { MAX_PULL_REQUEST, previewEnvironmentName } from './preview-name.ts';
import type { DeployDecision, IgnoredDecision, PreviewCloseDecision, PreviewDecision } from './route-decision.ts';
import { ignored } from './route-decision.ts';
import { refNameProblem } from './targets.ts';

const pullRequestNumber = z.number().int().min(1).max(MAX_PULL_REQUEST);
/** GitHub's numeric repository id: stable across renames and transfers, unlike the name. */
const repositoryId = z.number().int().positive();

/** GitHub's ISO 8601 time of the pull request's last change; anything else counts as absent. */
const updatedAt = z
  .unknown()
  .transform((value) => {
    const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    return Number.isFinite(time) ? new Date(time) : null;
  })
  .optional();

const numberedPayload = z.looseObject({ pull_request: z.looseObject({ number: pullRequestNumber, updated_at: updatedAt }) });

const previewPayload = z.looseObject({
  pull_request: z.looseObject({
    number: pullRequestNumber,
    updated_at: updatedAt,
    head: z.looseObject({
      sha: commitSha,
      ref: z.string(),
      // null once the fork it came from has been deleted
      repo: z.looseObject({ id: repositoryId }).nullable(),
    }),
    base: z.looseObject({ repo: z.looseObject({ id: repositoryId }) }),
    title: summaryText,
    html_url: summaryUrl,
    user: account,
  }),
});

/** The preview of an opened, reopened or synchronized pull request, at its head commit. */
export function routePreview(payload: unknown, reopened = false): PreviewDecision | IgnoredDecision {
  const parsed = previewPayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('pull_request', parsed.error));
  const pull = parsed.data.pull_request;
  const problem = refNameProblem({ kind: 'branch', name: pull.head.ref });
  if (problem) return ignored(`pull request head ${problem}`);
  return {
    kind: 'preview',
    pullRequest: pull.number,
    environmentName: previewEnvironmentName(pull.number),
    sha: pull.head.sha,
    headRef: pull.head.ref,
    fromFork: pull.head.repo === null || pull.head.repo.id !== pull.base.repo.id,
    summary: deploySummary({ message: pull.title, author: pull.user?.login, url: pull.html_url }),
    updatedAt: pull.updated_at ?? null,
    reopened,
  };
}

/** A closed pull request's preview goes; `merge` is what the merge (if any) deploys besides. */
export function closePreview(
  payload: unknown,
  merge: DeployDecision | IgnoredDecision,
): PreviewCloseDecision | DeployDecision | IgnoredDecision {
  const parsed = numberedPayload.safeParse(payload);
  // Without a number there is no preview to close, but a merge still deploys.
  if (!parsed.success) return merge.kind === 'deploy' ? merge : ignored(payloadProblem('pull_request', parsed.error));
  const { number: pullRequest, updated_at } = parsed.data.pull_request;
  return {
    kind: 'preview-close',
    pullRequest,
    environmentName: previewEnvironmentName(pullRequest),
    updatedAt: updated_at ?? null,
    merge,
  };
}
