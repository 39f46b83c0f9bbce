import { ConflictError, ForbiddenError, hostnamesFor, type Principal, type RequiredVariable, rollbackTarget } from '@pier/core';
import type { ReleaseRow, ReleaseWatchRow } from '@pier/db';
import { z } from 'zod';
import { waitingForChecksView } from '../checks-gate.ts';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { deploymentResponse, presentDeployment } from '../presenters.ts';
import { envParams } from '../schemas.ts';
import { rolledBackView, watchView } from './auto-rollback.ts';
import { cronStatus } from './cron.ts';
import { mirrorReport, presentLink } from './links.ts';
import { processesView } from './processes.ts';

const rollbackBody = z.strictObject({
  release: z.number().int().min(1).optional().describe('release version to go back to; default: the one before the live release'),
  restoreData: z
    .boolean()
    .optional()
    .describe(
      'also restore the linked Postgres as it was before the first release command after that release (the verified backup taken then); default false: code only',
    ),
});

function presentRelease(release: ReleaseRow) {
  return {
    id: release.id,
    version: release.version,
    image: { id: release.imageId, ref: release.imageRef },
    configVersion: release.configVersion,
    replicas: release.replicas,
    port: release.port ?? APP_DEFAULT_PORT,
    releaseCommand: release.releaseCommand,
    // The verified backup taken right before its release command: `rollback { restoreData }` restores it.
    backup: release.backupId,
    // Each setting it runs with and where it came from (pier.json, Procfile, api, image, default).
    settings: release.settings,
    createdAt: release.createdAt.toISOString(),
  };
}

/** The environment's newest release rolled back on its own, as the status shows it; null when none was. */
function lastRolledBack(watches: Map<string, ReleaseWatchRow>, versions: Map<string, number>) {
  const newest = [...watches.values()]
    .filter((w) => w.state === 'rolled_back')
    .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0))[0];
  const view = rolledBackView(newest);
  if (!newest || !view) return null;
  return { release: versions.get(newest.releaseId) ?? null, ...view, deployment: newest.rollbackDeploymentId };
}

/** Releases made before the port was kept ran on 8080. */
const APP_DEFAULT_PORT = 8080;

/**
 * The live release's required variables (pier.json) and whether each is set
 * in the environment now, or injected by a link: a variable removed since
 * would refuse the next release.
 */
async function requiredVariablesNow(deps: ApiDeps, environmentId: string, release: ReleaseRow | null) {
  const required = (release?.settings as { requiredVariables?: { value: RequiredVariable[] } } | null)?.requiredVariables?.value;
  if (!required?.length) return [];
  const present = new Set([
    ...(await deps.variables.list(environmentId, false)).map((v) => v.key),
    ...(await deps.services.injectedVariableNames(environmentId)),
    'PORT',
  ]);
  return required.map((v) => ({ name: v.name, description: v.description ?? null, set: present.has(v.name) }));
}

/**
 * Queues the restore that takes the linked Postgres back to where it was when
 * `target` ran: the verified backup taken right before the release command of
 * the first later release that has one. Refused (naming why) when there is none.
 */
async function requestDataRestore(
  deps: ApiDeps,
  principal: Principal,
  where: { app: string; env: string },
  all: ReleaseRow[],
  target: ReleaseRow,
) {
  const later = all.filter((r) => r.version > target.version && r.backupId !== null).sort((a, b) => a.version - b.version)[0];
  if (!later?.backupId)
    throw new ConflictError(
      `restoreData: no release after v${target.version} took a backup before its release command, so there is no data to restore; roll back without restoreData`,
    );
  const backup = await deps.serviceOperations.backup(later.backupId).catch(() => null);
  if (backup?.state !== 'good' || !backup.serviceId)
    throw new ConflictError(
      `restoreData: the backup taken before v${later.version}'s release command is no longer available (deleted, pruned, or its service is gone)`,
    );
  // Only the environment's own database, and one another app also uses only with an admin token.
  const linked = await deps.services.linkedEnvironments(backup.serviceId);
  if (!linked.includes(`${where.app}/${where.env}`))
    throw new ConflictError(`restoreData: ${backup.serviceName} is no longer linked to ${where.env}; restore its backup by hand`);
  const others = linked.filter((name) => !name.startsWith(`${where.app}/`));
  if (others.length > 0 && principal.role !== 'admin')
    throw new ForbiddenError(
      `restoreData: ${backup.serviceName} is also linked to ${others.join(', ')}; only an admin token may restore it`,
    );
  await deps.serviceOperations.requestRestore(backup.serviceId, backup.id);
  return { backup: backup.id, service: backup.serviceName, takenBefore: later.version };
}

export function releaseRoutes(deps: ApiDeps) {
  const { apps, environments, releases, replicas, deployments } = deps;

  return [
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/releases',
      summary: 'Releases of an environment, newest first',
      tag: 'releases',
      params: envParams,
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        const watches = await deps.releaseWatches.ofEnvironment(env.id);
        // A release rolled back on its own says when and why (`rolledBack`); such a release is not promoted.
        return {
          releases: (await releases.list(env.id)).map((r) => ({
            ...presentRelease(r),
            rolledBack: rolledBackView(watches.get(r.id)),
          })),
        };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/rollback',
      summary: 'Redeploy an earlier release (default: the one before the live one), health-gated, without a rebuild',
      tag: 'releases',
      params: envParams,
      body: rollbackBody,
      status: 202,
      response: deploymentResponse.extend({
        restore: z
          .object({ backup: z.string(), service: z.string(), takenBefore: z.number() })
          .nullable()
          .describe('the restore queued with restoreData: the backup, its service, and the release whose command it preceded'),
      }),
      handler: async ({ params, body, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        if (!env.liveReleaseId) throw new ConflictError(`environment ${env.name} has no live release to roll back from`);
        const live = await releases.get(env.liveReleaseId);
        const all = await releases.list(env.id, 1000);
        const target = rollbackTarget(all, live, body.release);
        // The restore is queued first: the rollback's deploy job waits for it before any old replica starts.
        const restore = body.restoreData
          ? await requestDataRestore(deps, principal, { app: app.name, env: env.name }, all, target)
          : null;
        const row = await deployments.enqueueRelease({
          appId: app.id,
          environmentId: env.id,
          trigger: 'rollback',
          releaseId: target.id,
          imageId: target.imageId,
          commitSha: null,
        });
        return { ...presentDeployment(row, app.name, env.name), restore };
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/status',
      summary: 'Live release, replicas and their health, and whether the environment is crash-looping',
      tag: 'releases',
      params: envParams,
      handler: async ({ params, principal }) => {
        const app = await apps.get(principal, params.app);
        const env = await environments.get(app.id, params.env);
        const live = env.liveReleaseId ? await releases.get(env.liveReleaseId) : null;
        const versions = new Map((await releases.list(env.id, 1000)).map((r) => [r.id, r.version]));
        const rows = await replicas.list(env.id);
        const rollout = await deps.rollouts.latest(env.id);
        const watches = await deps.releaseWatches.ofEnvironment(env.id);
        const watch = live ? (watches.get(live.id) ?? null) : null;
        return {
          app: app.name,
          environment: env.name,
          url: `https://${hostnamesFor(app.name, env.name, deps.baseDomain)[0]}`,
          pullRequest: env.pullRequest,
          fromFork: env.fromFork,
          health: env.health,
          restartStreak: env.restartStreak,
          nextRestartAt: env.nextRestartAt?.toISOString() ?? null,
          desiredReplicas: env.replicas,
          liveRelease: live ? { ...presentRelease(live), rolledBack: rolledBackView(watch) } : null,
          // The live release's watch after its rollout: `watching` until `until`, `passed`, or `rolled_back` and why.
          watch: watchView(watch),
          // The newest release rolled back on its own: which, when, why, and the rollback it queued.
          rolledBack: lastRolledBack(watches, versions),
          requiredVariables: await requiredVariablesNow(deps, env.id, live),
          desiredRelease: env.desiredReleaseId ? (versions.get(env.desiredReleaseId) ?? null) : null,
          // The newest rollout: under way (`active`), or how the last one ended and why.
          rollout: rollout
            ? {
                id: rollout.id,
                deployment: rollout.deploymentId,
                from: rollout.fromReleaseId ? (versions.get(rollout.fromReleaseId) ?? null) : null,
                to: versions.get(rollout.toReleaseId) ?? null,
                state: rollout.state,
                reason: rollout.reason,
                startedAt: rollout.createdAt.toISOString(),
                finishedAt: rollout.finishedAt?.toISOString() ?? null,
              }
            : null,
          services: (await deps.services.links(env.id)).map(presentLink),
          mirror: await mirrorReport(deps, app.id, env),
          // A push held by the CI gate: which commit, and the checks it still waits for.
          waitingForChecks: await waitingForChecksView(deps, app.id, env.id),
          // Each cron job and how its last run went (failed and skipped ones show here).
          cron: await cronStatus(deps, env.id),
          // Each process type of the live release: replicas wanted and running, limits, how one last ended.
          processes: processesView(env, live, await deps.processes.list(env.id), rows),
          replicas: rows.map((r) => ({
            id: r.id,
            name: r.containerName,
            process: r.processType,
            memoryMb: r.memoryMb,
            cpus: r.cpus,
            release: versions.get(r.releaseId) ?? null,
            state: r.state,
            healthy: r.healthy,
            // Where the proxy and the health gate reach it, as the runtime reported.
            address: r.host !== null && r.port !== null ? { host: r.host, port: r.port } : null,
            unhealthySince: r.unhealthySince?.toISOString() ?? null,
            createdAt: r.createdAt.toISOString(),
          })),
        };
      },
    }),
  ];
}
