import {
  type ContainerRuntime,
  createSecretMask,
  describeHealthCheck,
  describePort,
  NotFoundError,
  type RepoSettings,
  repoConfigFor,
  resolveRunSettings,
  runSettingsRecord,
} from '@pier/core';
import type {
  AppStore,
  DeploymentStore,
  EnvironmentStore,
  ReleaseRow,
  ReleaseStore,
  RolloutStore,
  ServiceStore,
  VariableStore,
} from '@pier/db';
import type { Logger } from '@pier/log';
import type { JobContext } from '@pier/queue';
import { DeploymentLogWriter } from '../deployment-log-writer.ts';
import { replicaSecrets } from './replica-config.ts';

export interface DeployJobDeps {
  apps: AppStore;
  environments: EnvironmentStore;
  variables: VariableStore;
  deployments: DeploymentStore;
  releases: ReleaseStore;
  rollouts: RolloutStore;
  services: ServiceStore;
  /** Reads the image's EXPOSEd ports, for a release's port. */
  images: Pick<ContainerRuntime, 'imageExposedPorts'>;
  logger: Logger;
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
    const notReady = await waitForLinkedServices(deps.services, env.id, (line) => log.write(line, 'system'));
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
    const rollout = await deps.rollouts.begin({ environmentId: env.id, deploymentId, toReleaseId: target.id });
    if (!rollout) log.write('superseded: a newer deployment of this environment is already rolling out or live', 'system');
    await log.close();
    if (rollout) deps.logger.info({ deploymentId, app: app.name, env: env.name, release: target.version }, 'rollout begun');
  } catch (err) {
    log.write(`deploy failed: ${(err as Error).message}`, 'system');
    await log.close();
    throw err; // BullMQ retries; beginning the same deployment's rollout again changes nothing
  }
}

async function newRelease(
  deps: DeployJobDeps,
  deployment: { imageId: string | null; commitSha: string | null; image: string | null; repoConfig: unknown },
  env: Awaited<ReturnType<EnvironmentStore['get']>>,
  log: (line: string) => void,
): Promise<ReleaseRow> {
  if (!deployment.imageId) throw new Error('the deployment has no image');
  const app = await deps.apps.byId(env.appId);
  // The networks of the services linked now are recorded; their URLs are added at every start, never stored here.
  const injection = await deps.services.injection(env.id);
  const run = resolveRunSettings({
    api: env,
    file: repoConfigFor((deployment.repoConfig as RepoSettings | null)?.pierJson ?? null, env.name),
    exposedPorts: await exposedPorts(deps.images, deployment.imageId),
  });
  for (const note of run.notes) log(note);
  log(`port ${describePort(run.port, run.sources.port)}; health check ${describeHealthCheck(run.health.path)}`);
  return deps.releases.create({
    environmentId: env.id,
    imageId: deployment.imageId,
    // A prebuilt image is named as it was given (`POST …/deployments { image }`).
    imageRef: deployment.image ?? (deployment.commitSha ? `pier/${app.name}:${deployment.commitSha}` : deployment.imageId),
    config: await deps.variables.plain(env.id),
    networks: injection.networks,
    configVersion: env.configVersion,
    replicas: env.replicas,
    port: run.port,
    health: run.health,
    settings: runSettingsRecord(run),
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

/** How long a deployment waits for linked services that are still being made (a preview's own database). */
const SERVICE_WAIT_MS = 180_000;

/** Waits until every linked service, and the database role of each link, is ready; the reason it cannot deploy, or null. */
async function waitForLinkedServices(
  services: ServiceStore,
  environmentId: string,
  log: (line: string) => void,
): Promise<string | null> {
  const deadline = Date.now() + SERVICE_WAIT_MS;
  let announced = false;
  for (;;) {
    // A new link's database role is created by the worker before any replica gets a URL naming it.
    const pending = (await services.links(environmentId)).filter(
      (l) => l.service.state !== 'ready' || (l.role !== null && l.role.readyAt === null),
    );
    if (pending.length === 0) return null;
    const failed = pending.find((l) => l.service.state === 'failed' || l.service.state === 'deleting');
    if (failed)
      return `linked service ${failed.service.name} is ${failed.service.state}${failed.service.lastError ? `: ${failed.service.lastError}` : ''}`;
    if (Date.now() > deadline)
      return `linked service ${pending[0]?.service.name} was not ready within ${SERVICE_WAIT_MS / 1000} s`;
    if (!announced) log(`waiting for linked service ${pending.map((l) => l.service.name).join(', ')} to be ready`);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
