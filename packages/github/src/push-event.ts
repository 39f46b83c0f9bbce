import { z } from 'zod';
import { decideDeploy } from './decide-deploy.ts';
import { commitSha, deploySummary, githubTime, payloadProblem, summaryText, summaryUrl } from './payload-fields.ts';
import type { EnvironmentTrigger, RouteDecision } from './route-decision.ts';
import { ignored } from './route-decision.ts';
import { parseFullRef } from './targets.ts';

const pushPayload = z.looseObject({
  ref: z.string(),
  after: commitSha,
  deleted: z.boolean().optional(),
  compare: summaryUrl,
  head_commit: z
    .looseObject({
      id: commitSha,
      message: summaryText,
      url: summaryUrl,
      author: z.looseObject({ name: summaryText, username: summaryText }).nullish().catch(undefined),
    })
    .nullish(),
  pusher: z.looseObject({ name: summaryText }).nullish().catch(undefined),
  repository: z.looseObject({ pushed_at: githubTime }).nullish().catch(undefined),
});

const ZERO_SHA = /^0+$/;

/**
 * A push to `refs/heads/<b>` deploys the environments tracking `b`; one to `refs/tags/<t>` those whose tag
 * pattern matches `t`. Deletions and other refs deploy nothing.
 */
export function routePush(payload: unknown, environments: readonly EnvironmentTrigger[]): RouteDecision {
  const parsed = pushPayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('push', parsed.error));
  const push = parsed.data;
  if (push.deleted === true || ZERO_SHA.test(push.after)) return ignored('push deletes a ref');
  const ref = parseFullRef(push.ref);
  if (!ref) return ignored('push is not to a branch or a tag');
  const head = push.head_commit;
  const pushedAt = push.repository?.pushed_at;
  return decideDeploy(
    {
      event: 'push',
      ref,
      // For an annotated tag `after` is the tag object; head_commit is the commit it points at.
      sha: ref.kind === 'tag' && head ? head.id : push.after,
      trigger: ref.kind === 'tag' ? 'tag' : 'push',
      summary: deploySummary({
        message: head?.message,
        author: head?.author?.name ?? head?.author?.username ?? push.pusher?.name,
        url: head?.url ?? push.compare,
      }),
      ...(pushedAt ? { order: { key: push.ref, at: pushedAt, identity: push.after } } : {}),
    },
    environments,
  );
}
