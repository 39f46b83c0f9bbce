import { z } from 'zod';
import { decideDeploy } from './decide-deploy.ts';
import { account, deploySummary, githubTime, payloadProblem, summaryText, summaryUrl } from './payload-fields.ts';
import type { EnvironmentTrigger, RouteDecision } from './route-decision.ts';
import { ignored } from './route-decision.ts';

const releaseAction = z.looseObject({ action: z.string() });

const releasePayload = z.looseObject({
  release: z.looseObject({
    tag_name: z.string(),
    name: summaryText,
    html_url: summaryUrl,
    author: account,
    id: z.number().int().nullish().catch(undefined),
    published_at: githubTime,
  }),
});

/**
 * A published release deploys the environments whose tag pattern matches its tag. The payload carries no commit
 * id, so `sha` is null: whoever fetches the source resolves the tag.
 */
export function routeRelease(payload: unknown, environments: readonly EnvironmentTrigger[]): RouteDecision {
  const action = releaseAction.safeParse(payload);
  if (!action.success) return ignored(payloadProblem('release', action.error));
  if (action.data.action !== 'published') return ignored('release action is not published');
  const parsed = releasePayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('release', parsed.error));
  const { release } = parsed.data;
  return decideDeploy(
    {
      event: 'release',
      ref: { kind: 'tag', name: release.tag_name },
      sha: null,
      trigger: 'tag',
      summary: deploySummary({ message: release.name || release.tag_name, author: release.author?.login, url: release.html_url }),
      ...(release.published_at
        ? {
            order: {
              key: `release:${release.tag_name}`,
              at: release.published_at,
              identity: String(release.id ?? release.tag_name),
            },
          }
        : {}),
    },
    environments,
  );
}
