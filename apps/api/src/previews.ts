import { type AppQuotas, authorityVariableKeys, DEFAULT_APP_QUOTAS, injectedVariableKey, linkVariableKeys } from '@pier/core';
import {
  type AppRow,
  type DeliveryTransaction,
  deletePreviewEnvironment,
  type EnvironmentRow,
  ensurePreviewEnvironment,
  type NewDeployment,
  type PullRequestEventOrder,
  recordPullRequestEvent,
  type VariableStore,
} from '@pier/db';
import type { PreviewCloseDecision, PreviewDecision } from '@pier/github';
import { onPreviewClosing, onPreviewCreated, type PreviewHookDeps } from './previews-hooks.ts';

/** A same-repository preview starts with this environment's variables and health check. */
export const PREVIEW_TEMPLATE_ENVIRONMENT = 'staging';

/** Why `app` does not preview this pull request; undefined when it does. */
export function previewRefusal(app: AppRow, decision: PreviewDecision): string | undefined {
  if (!app.previewsEnabled) return `pull request previews are disabled for this app (pull request #${decision.pullRequest})`;
  if (decision.fromFork && !app.forkPreviews) {
    return `pull request #${decision.pullRequest} comes from a fork; this app does not build previews of forks`;
  }
  return undefined;
}

export type PreviewBuild =
  | {
      kind: 'build';
      environment: EnvironmentRow;
      created: boolean;
      /** Staging, which a new preview copies; null when the app has none. */
      template: EnvironmentRow | null;
      deployment: NewDeployment;
    }
  | { kind: 'refused'; reason: string; quota?: boolean };

/**
 * In the delivery's transaction: the preview environment, created or reused, and the build of the head
 * commit to queue in it. A new same-repository preview gets a copy of staging's variables; a fork's never
 * gets any (its code is untrusted), nor does a preview that already exists (its own changes are kept).
 */
export async function preparePreviewBuild(
  tx: DeliveryTransaction,
  variables: VariableStore,
  app: AppRow,
  decision: PreviewDecision,
  quotas?: AppQuotas,
): Promise<PreviewBuild> {
  const ensured = await ensurePreviewEnvironment(tx, {
    ...(quotas ? { quotas } : {}),
    appId: app.id,
    appName: app.name,
    pullRequest: decision.pullRequest,
    name: decision.environmentName,
    fromFork: decision.fromFork,
    templateName: PREVIEW_TEMPLATE_ENVIRONMENT,
  });
  if (ensured.kind === 'refused') return ensured;
  const { environment, created, template } = ensured;
  if (created && template && !decision.fromFork) {
    // A preview with its own database never gets staging's DATABASE_URL, PGHOST…: the link injects the preview's.
    const except = app.previewDatabase
      ? [...linkVariableKeys('postgres', injectedVariableKey('postgres', '', true)), ...authorityVariableKeys(['postgres'])]
      : [];
    await variables.copyAll(tx, template.id, environment.id, except);
  }
  return {
    kind: 'build',
    environment,
    created,
    template: template ?? null,
    deployment: {
      appId: app.id,
      environmentId: environment.id,
      trigger: 'push',
      // What GitHub calls the head in the base repository, also for forks; the build fetches `commitSha`.
      gitRef: `refs/pull/${decision.pullRequest}/head`,
      commitSha: decision.sha,
    },
  };
}

/** In the delivery's transaction: deletes the pull request's preview, if there is one. */
export function closePreview(
  tx: DeliveryTransaction,
  app: AppRow,
  decision: PreviewCloseDecision,
): Promise<EnvironmentRow | null> {
  return deletePreviewEnvironment(tx, app.id, decision.pullRequest, (environment) => onPreviewClosing(tx, { app, environment }));
}

/** The previews one delivery asks for, gathered before its transaction. */
export interface PreviewWork {
  previews: { app: AppRow; decision: PreviewDecision }[];
  closes: { app: AppRow; decision: PreviewCloseDecision }[];
}

export type PreviewName = { app: string; environment: string };

/** What applying them did. */
export interface PreviewChanges {
  queued: { deployment: NewDeployment; name: PreviewName }[];
  /** Databases made for new previews, to log once the transaction has committed. */
  databases: (PreviewName & { service: string })[];
  closed: PreviewName[];
  /** Why a preview was not built or closed, per app. */
  reasons: string[];
  /** Previews refused for a quota, to record as `quota.refused` once the transaction has committed. */
  quotaRefusals: { appId: string; app: string; reason: string }[];
}

/** In the delivery's transaction: builds and closes every preview of `work`. */
export async function applyPreviews(
  tx: DeliveryTransaction,
  deps: PreviewHookDeps & { variables: VariableStore; quotas?: AppQuotas },
  work: PreviewWork,
): Promise<PreviewChanges> {
  const changes: PreviewChanges = { queued: [], databases: [], closed: [], reasons: [], quotaRefusals: [] };
  for (const { app, decision } of work.previews) {
    const kind = decision.reopened ? 'reopen' : 'open';
    const order = await recordPullRequestEvent(tx, app.id, decision.pullRequest, decision.updatedAt, kind);
    if (!order.current) {
      changes.reasons.push(`${app.name}: ${staleDelivery(decision.pullRequest, order)}`);
      continue;
    }
    const build = await preparePreviewBuild(tx, deps.variables, app, decision, deps.quotas ?? DEFAULT_APP_QUOTAS);
    if (build.kind === 'refused') {
      changes.reasons.push(`${app.name}: ${build.reason}`);
      if (build.quota) changes.quotaRefusals.push({ appId: app.id, app: app.name, reason: build.reason });
      continue;
    }
    const name = { app: app.name, environment: build.environment.name };
    changes.queued.push({ deployment: build.deployment, name });
    const service = build.created
      ? await onPreviewCreated(tx, deps, { app, environment: build.environment, template: build.template })
      : undefined;
    if (service) changes.databases.push({ ...name, service });
  }
  for (const { app, decision } of work.closes) {
    const order = await recordPullRequestEvent(tx, app.id, decision.pullRequest, decision.updatedAt, 'close');
    if (!order.current) {
      changes.reasons.push(`${app.name}: ${staleDelivery(decision.pullRequest, order)}`);
      continue;
    }
    const environment = await closePreview(tx, app, decision);
    if (environment) changes.closed.push({ app: app.name, environment: environment.name });
    else changes.reasons.push(`${app.name}: pull request #${decision.pullRequest} has no preview to remove`);
  }
  return changes;
}

/** Why an out-of-order pull_request delivery changes nothing. */
function staleDelivery(pullRequest: number, order: Extract<PullRequestEventOrder, { current: false }>): string {
  const newer = `${order.newer.closed ? 'a close' : 'an update'} of ${order.newer.updatedAt.toISOString()}`;
  return `pull request #${pullRequest}: this delivery is older than ${newer}, already applied; nothing changes`;
}
