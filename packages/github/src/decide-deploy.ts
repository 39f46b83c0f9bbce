import type { DeployDecision, EnvironmentTrigger, IgnoredDecision } from './route-decision.ts';
import { ignored } from './route-decision.ts';
import { refNameProblem, targetsFor } from './targets.ts';

/** The last step of every route: refuse a bad ref name, find the environments, deploy only if there are any. */
export function decideDeploy(
  request: Omit<DeployDecision, 'kind' | 'targets'>,
  environments: readonly EnvironmentTrigger[],
): DeployDecision | IgnoredDecision {
  const problem = refNameProblem(request.ref);
  if (problem) return ignored(problem);
  const targets = targetsFor(request.ref, environments);
  if (targets.length === 0) return ignored(`no environment deploys ${request.ref.kind} ${request.ref.name}`);
  return { kind: 'deploy', ...request, targets };
}
