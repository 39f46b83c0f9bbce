import type { NewEvent } from './events.ts';

/** What is known of a deployment when it is queued, goes live or fails: enough for one plain sentence. */
export interface DeploymentFacts {
  deploymentId: string;
  /** `push`, `tag`, `manual`, `rollback`, `promote` or `config`. */
  trigger: string;
  appId: string;
  appName: string;
  environmentId: string;
  envName: string;
  /** The release it deploys, once it has one. */
  version: number | null;
  /** The environment's live release when it was queued (what a rollback or promotion replaces). */
  liveVersion: number | null;
  commitSha: string | null;
  /** Why it failed, as the deployment keeps it (already masked). */
  reason: string | null;
}

export type DeploymentMoment = 'queued' | 'live' | 'failed';

/**
 * The event of a deployment reaching `moment`: queued (a rollback or a
 * promotion is its own kind, with the versions it goes from and to), live,
 * or failed with its reason. Pure: the store that records the move calls it.
 */
export function deploymentEvent(facts: DeploymentFacts, moment: DeploymentMoment): NewEvent {
  const where = `${facts.appName} ${facts.envName}`;
  const release = facts.version === null ? null : `v${facts.version}`;
  const base = {
    appId: facts.appId,
    environmentId: facts.environmentId,
    envName: facts.envName,
    data: {
      deploymentId: facts.deploymentId,
      trigger: facts.trigger,
      release: facts.version,
      ...(facts.commitSha ? { commit: facts.commitSha } : {}),
    },
  };
  if (moment === 'live') {
    return { ...base, kind: 'deploy.live', message: `${where}: ${release ?? 'the deployment'} is live (${facts.trigger}).` };
  }
  if (moment === 'failed') {
    const cause = facts.reason ? `: ${facts.reason}` : '';
    return {
      ...base,
      kind: 'deploy.failed',
      message: `${where}: the ${facts.trigger} deployment${release ? ` of ${release}` : ''} failed${cause}`,
      data: { ...base.data, reason: facts.reason },
    };
  }
  const from = facts.liveVersion === null ? null : `v${facts.liveVersion}`;
  const fromTo = { ...base.data, from: facts.liveVersion, to: facts.version };
  if (facts.trigger === 'rollback') {
    return {
      ...base,
      kind: 'deploy.rollback',
      message: `${where}: rollback${from ? ` from ${from}` : ''} to ${release ?? 'an earlier release'} queued.`,
      data: fromTo,
    };
  }
  const commit = facts.commitSha ? `commit ${facts.commitSha.slice(0, 12)}` : null;
  if (facts.trigger === 'promote') {
    return {
      ...base,
      kind: 'deploy.promotion',
      message: `${where}: promotion of ${release ?? commit ?? "another environment's release"}${from ? ` replacing ${from}` : ''} queued.`,
      data: fromTo,
    };
  }
  const what = commit ? ` of ${commit}` : release ? ` of ${release}` : '';
  return { ...base, kind: 'deploy.queued', message: `${where}: deployment${what} queued (${facts.trigger}).` };
}
