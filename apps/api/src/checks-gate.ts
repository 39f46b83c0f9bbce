import { type CheckReport, checksVerdict, waitsForChecks } from '@pier/core';
import type { AppRow, DeliveryTransaction, DeploymentRow, EnvironmentRow } from '@pier/db';
import type { RouteDecision } from '@pier/github';
import type { ApiDeps } from './deps.ts';

type ChecksDeps = Pick<ApiDeps, 'checks'>;

/**
 * The environments of `app` whose pushes wait for checks, with how long
 * (`checksTimeoutMs`): asked only for a decision that deploys. Whether the
 * repository reports checks (for the staging default) is looked up only when
 * it matters.
 */
export async function checksTimeouts(
  deps: ChecksDeps,
  app: AppRow,
  environments: readonly EnvironmentRow[],
  decision: RouteDecision,
): Promise<Map<string, number>> {
  const deploys = decision.kind === 'deploy' || (decision.kind === 'preview-close' && decision.merge.kind === 'deploy');
  const timeouts = new Map<string, number>();
  if (!deploys) return timeouts;
  const byDefault = environments.some((env) => env.waitForChecks === null && env.name === 'staging');
  const reportsChecks = byDefault ? await deps.checks.reportsChecks(app.id) : false;
  for (const env of environments) {
    if (waitsForChecks(env, { hasRepository: app.repoCloneUrl !== null, reportsChecks }))
      timeouts.set(env.id, env.checksTimeoutMs);
  }
  return timeouts;
}

/** A check report for one app, gathered before the delivery's transaction. */
export interface CheckWork {
  app: AppRow;
  report: CheckReport;
  /** The app's environments by id, to name the deployments it settles. */
  environments: ReadonlyMap<string, string>;
}

export interface SettledView {
  id: string;
  app: string;
  environment: string;
  state: 'queued' | 'skipped';
  reason?: string;
}

/**
 * In the delivery's transaction: each app keeps the report (unless it keeps a
 * newer one of that check) and its deployments waiting for the commit go on
 * (queued, their builds start) or are skipped (a check failed).
 */
export async function applyChecks(
  tx: DeliveryTransaction,
  deps: ChecksDeps,
  work: readonly CheckWork[],
): Promise<{ recorded: boolean; settled: SettledView[]; reasons: string[] }> {
  const settled: SettledView[] = [];
  const reasons: string[] = [];
  let recorded = false;
  for (const { app, report, environments } of work) {
    const result = await deps.checks.record(tx, app.id, report);
    if (!result.applied) {
      reasons.push(
        `${app.name}: ${describeCheck(report)} is not newer than the result kept: a replayed or late delivery changes nothing`,
      );
      continue;
    }
    recorded = true;
    for (const { deployment, state } of result.settled) {
      settled.push({
        id: deployment.id,
        app: app.name,
        environment: environments.get(deployment.environmentId) ?? '',
        state,
        ...(deployment.reason ? { reason: deployment.reason } : {}),
      });
    }
  }
  return { recorded, settled, reasons };
}

function describeCheck(report: CheckReport): string {
  return `${report.kind} "${report.name}" of ${report.commit.slice(0, 12)} (${report.conclusion})`;
}

/** What a deployment waiting for checks waits for, for the API's answers; null for any other. */
export async function checksView(deps: Pick<ApiDeps, 'checks' | 'environments'>, deployment: DeploymentRow) {
  if (deployment.state !== 'waiting_for_checks' || !deployment.commitSha) return null;
  const env = await deps.environments.byId(deployment.environmentId);
  const results = await deps.checks.results(deployment.appId, deployment.commitSha);
  const verdict = checksVerdict(results, env.requiredChecks);
  return {
    required: env.requiredChecks,
    deadlineAt: deployment.checksDeadlineAt?.toISOString() ?? null,
    waitingFor: verdict.kind === 'waiting' ? verdict.waitingFor : [],
    results: results
      .map((r) => ({ kind: r.kind, name: r.name, conclusion: r.conclusion }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind)),
  };
}

/** For an environment's status: its newest deployment waiting for checks, and what it waits for; null when none waits. */
export async function waitingForChecksView(
  deps: Pick<ApiDeps, 'checks' | 'environments' | 'deployments'>,
  appId: string,
  environmentId: string,
) {
  const recent = await deps.deployments.list({ appId, environmentId }, 20);
  const waiting = recent.find((d) => d.state === 'waiting_for_checks');
  const view = waiting ? await checksView(deps, waiting) : null;
  return waiting && view ? { deployment: waiting.id, commit: waiting.commitSha, ...view } : null;
}
