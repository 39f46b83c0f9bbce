import {
  type CapacityCheck,
  type ContainerRuntime,
  createSecretMask,
  describeHealthCheck,
  describePort,
  missingVariables,
  missingVariablesReason,
  NotFoundError,
  type RepoSettings,
  repoConfigFor,
  resolveRunSettings,
  runSettingsRecord,
  ValidationError,
} from '@pier/core';
import type {
  AppStore,
  DeploymentStore,
  EnvironmentStore,
  ReleaseRow,
  ReleaseStore,
  ReservationStore,
  RolloutStore,
  ServiceOperationStore,
  ServiceStore,
  VariableStore,
} from '@pier/db';
import type { Logger } from '@pier/log';
import type { JobContext } from '@pier/queue';
import { rolloutCapacityProblem } from '../capacity/rollout-capacity.ts';
import { DeploymentLogWriter } from '../deployment-log-writer.ts';
import { waitForLinkedServices } from './linked-services-ready.ts';
import { type ReleasePhaseDeps, runReleasePhase } from './release-command.ts';
import { replicaSecrets } from './replica-config.ts';
import { releaseProcesses, releaseTimeoutMs, repoReleaseSettings } from './repo-release-settings.ts';

export interface DeployJobDeps {
  apps: AppStore;
  environments: EnvironmentStore;
  variables: VariableStore;
  deployments: DeploymentStore;
  releases: ReleaseStore;
  rollouts: RolloutStore;
  services: ServiceStore;
  serviceOperations: Pick<ServiceOperationStore, 'operations'>;
  /** Runs a new release's release command (after a backup of its linked Postgres). */
  releasePhase: ReleasePhaseDeps;
  /** Reads the image's EXPOSEd ports, for a release's port. */
  images: Pick<ContainerRuntime, 'imageExposedPorts'>;
  logger: Logger;
  /** The capacity guard, with the process types' limits: a rollout the host cannot hold fails with the figures. */
  capacity?: CapacityCheck;
  reservations?: Pick<ReservationStore, 'processes' | 'liveMemoryMbByType'>;
}

/**
 * The `deploy` job: a built deployment becomes a release (image + variables
 * snapshot + replicas + health settings) and the environment's desired
 * release, with a rollout record, in one transaction. It starts and stops
 * nothing: the reconciler rolls the release out (start, gate, switch, drain)
 * and marks the deployment `live`, or `failed` with the reason while the old
 * release keeps serving.
 */
export async function runDeployJob(deps: DeployJobDeps, deploymentId: string, _ctx: JobContext): Promise<void> {
  const claim = await deps.deployments.claimDeploy(deploymentId);
  if (claim !== 'claimed') return;

  const deployment = await deps.deployments.get(deploymentId);
  const app = await deps.apps.byId(deployment.appId);
  const env = (await deps.environments.list(app.id)).find((e) => e.id === deployment.environmentId);
  if (!env) return;
  // The stored log and every failure reason (which may quote a service's error) are masked alike.
  const release = deployment.releaseId ? await deps.releases.get(deployment.releaseId) : undefined;
  const mask = createSecretMask(await replicaSecrets(deps, deployment.appId, env.id, release));
  const log = new DeploymentLogWriter(deps.deployments, deploymentId, { mask });
  try {
    const notReady = await waitForLinkedServices(deps, env.id, (line) => log.write(line, 'system'));
    if (notReady) {
      log.write(notReady, 'system');
      await log.close();
      await deps.deployments.transition(deploymentId, ['deploying'], 'failed', {
        reason: mask(notReady),
        finishedAt: new Date(),
      });
      return;
    }
    const target = release ?? (await newRelease(deps, deployment, env, (line) => log.write(line, 'system')));
    await deps.deployments.setRelease(deploymentId, target.id);
    log.write(`release v${target.version}: ${target.imageRef}`, 'system');
    const noRoom = (await deps.rollouts.ofDeployment(deploymentId))
      ? null // begun already (a retried job): its replicas are counted as reserved
      : await rolloutCapacityProblem(
          deps,
          { appId: app.id, appName: app.name, envName: env.name, environmentId: env.id, deploymentId, webReplicas: env.replicas },
          target,
        );
    if (noRoom) {
      log.write(noRoom, 'system');
      await log.close();
      await deps.deployments.transition(deploymentId, ['deploying'], 'failed', { reason: mask(noRoom), finishedAt: new Date() });
      return;
    }
    // A new release's command runs before any replica of it starts; a rollback's release ran its own. A job
    // retried after its worker died (no rollout yet) runs it again: release commands are to be idempotent.
    if (deployment.trigger !== 'rollback' && target.releaseCommand && !(await deps.rollouts.ofDeployment(deploymentId))) {
      const phase = await runReleasePhase(deps.releasePhase, {
        target: { environmentId: env.id, appName: app.name, name: env.name },
        release: target,
        deploymentId,
        command: target.releaseCommand,
        timeoutMs: releaseTimeoutMs(deps.releases.settings(target)),
        log: (line, stream) => log.write(line, stream),
      });
      if (!phase.ok) {
        // The reason, then the command's last lines (read before the reason is logged too).
        const reason = mask([phase.reason, ...log.tail().slice(-20)].join('\n'));
        log.write(phase.reason, 'system');
        await log.close();
        await deps.deployments.transition(deploymentId, ['deploying'], 'failed', { reason, finishedAt: new Date() });
        deps.logger.info({ deploymentId, app: app.name, env: env.name }, 'release command failed');
        return;
      }
      if (phase.skipped) log.write(phase.skipped, 'system');
    }
    const rollout = await deps.rollouts.begin({ environmentId: env.id, deploymentId, toReleaseId: target.id });
    if (!rollout) log.write('superseded: a newer deployment of this environment is already rolling out or live', 'system');
    await log.close();
    if (rollout) deps.logger.info({ deploymentId, app: app.name, env: env.name, release: target.version }, 'rollout begun');
  } catch (err) {
    log.write(`deploy failed: ${(err as Error).message}`, 'system');
    await log.close();
    if (err instanceof ValidationError) {
      // Refused (a required variable is missing): trying again changes nothing.
      await deps.deployments.transition(deploymentId, ['deploying'], 'failed', {
        reason: mask(err.message),
        finishedAt: new Date(),
      });
      return;
    }
    throw err; // BullMQ retries; beginning the same deployment's rollout again changes nothing
  }
}

async function newRelease(
  deps: DeployJobDeps,
  deployment: { imageId: string | null; commitSha: string | null; repoConfig: unknown; image: string | null },
  env: Awaited<ReturnType<EnvironmentStore['get']>>,
  log: (line: string) => void,
): Promise<ReleaseRow> {
  if (!deployment.imageId) throw new Error('the deployment has no image');
  const app = await deps.apps.byId(env.appId);
  // The networks of the services linked now are recorded; their URLs are added at every start, never stored here.
  const injection = await deps.services.injection(env.id);
  // A promotion, a config change or a redeploy of an image uses the pier.json of the build that made it.
  const repo =
    (deployment.repoConfig as RepoSettings | null) ?? (await deps.deployments.repoSettingsOfImage(app.id, deployment.imageId));
  const file = repoConfigFor(repo?.pierJson ?? null, env.name);
  // As a build checks them before building: a promotion or config change into an environment that lacks one is refused.
  const config = await deps.variables.plain(env.id);
  const missing = missingVariables(file.requiredVariables, [...Object.keys(config), ...Object.keys(injection.variables), 'PORT']);
  if (missing.length > 0) throw new ValidationError(missingVariablesReason(app.name, env.name, missing), 'requiredVariables');
  const run = resolveRunSettings({
    api: env,
    file,
    exposedPorts: await exposedPorts(deps.images, deployment.imageId),
  });
  const repoSettings = repoReleaseSettings(file, repo);
  const processes = releaseProcesses(file, repo);
  for (const note of run.notes) log(note);
  log(`port ${describePort(run.port, run.sources.port)}; health check ${describeHealthCheck(run.health.path)}`);
  log(`processes: ${Object.keys(processes.processes).join(', ')} (${processes.source})`);
  return deps.releases.create({
    environmentId: env.id,
    imageId: deployment.imageId,
    // A prebuilt image is named as it was given (`POST …/deployments { image }`).
    imageRef: deployment.image ?? (deployment.commitSha ? `pier/${app.name}:${deployment.commitSha}` : deployment.imageId),
    config,
    networks: injection.networks,
    configVersion: env.configVersion,
    replicas: env.replicas,
    port: run.port,
    health: run.health,
    settings: {
      ...runSettingsRecord(run),
      ...repoSettings,
      processes: { value: processes.processes, source: processes.source },
    },
    releaseCommand: (repoSettings.release?.value as { command: string } | undefined)?.command ?? null,
    processes: processes.processes,
    cron: file.cron ?? [],
  });
}

/** The TCP ports an image EXPOSEs; none when the image is gone (its replicas then fail to start, saying so). */
async function exposedPorts(images: DeployJobDeps['images'], imageId: string): Promise<number[]> {
  try {
    return await images.imageExposedPorts(imageId);
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    throw err;
  }
}
