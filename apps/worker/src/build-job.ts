import { type BuildImages, type BuildRegistrySettings, registryCredentials } from '@pier/builder';
import {
  BuildError,
  type CapacityCheck,
  type ContainerRuntime,
  createSecretMask,
  type GitRef,
  LABEL_APP,
  LABEL_COMMIT,
  LABEL_DEPLOYMENT,
  LABEL_ROLE,
  missingVariables,
  missingVariablesReason,
  PierError,
  type RepoAccess,
  type RepoSettings,
  repoConfigFor,
  type SourceFetcher,
} from '@pier/core';
import type { AppStore, DeploymentRow, DeploymentStore, EnvironmentStore, ServiceStore, VariableStore } from '@pier/db';
import type { Logger } from '@pier/log';
import type { JobContext } from '@pier/queue';
import { buildCommit } from './build-commit.ts';
import { BuildDiskWatch, type DiskActivity, diskSpaceProblem } from './build-disk-watch.ts';
import { DeploymentLogWriter } from './deployment-log-writer.ts';
import { pruneAppImages } from './prune-app-images.ts';
import { pullPrebuiltImage, registrySecrets } from './pull-image.ts';

export interface BuildSettings {
  images: BuildImages;
  /** Checkouts are made (and removed) under here. */
  workDirectory: string;
  timeoutMs: number;
  memoryBytes: number;
  maxContextBytes: number;
  /** Builds are refused while the image store has less free space than this. */
  minFreeDiskBytes: number;
  /** Newest images kept per app. */
  keepImages: number;
  /** Bytes of a build's output stored at most, then "output truncated". Default 5 MiB. */
  logMaxBytes?: number;
  /** How often free disk space is checked while a build runs. Default 5 s. */
  diskCheckIntervalMs?: number;
  /** CA bundle, registries and proxies of builds (PIER_BUILD_CA_BUNDLE, PIER_NPM_REGISTRY, …); none by default. */
  registries?: BuildRegistrySettings;
}

export interface BuildJobDeps {
  apps: AppStore;
  environments: Pick<EnvironmentStore, 'byId'>;
  services: Pick<ServiceStore, 'injectedVariableNames'>;
  variables: VariableStore;
  deployments: DeploymentStore;
  fetcher: SourceFetcher;
  runtime: ContainerRuntime;
  settings: BuildSettings;
  logger: Logger;
  /** How often a running build checks for a cancel request. */
  cancelPollMs?: number;
  /** The capacity guard: a build whose memory the host cannot hold now fails with the figures; absent, none does. */
  capacity?: CapacityCheck;
}

/** How long a job waits before trying again while another build of its environment runs. */
const BUSY_RETRY_MS = 2000;

/**
 * The `build` job: one deployment from queued to an image (state `deploying`)
 * or to `failed` / `cancelled` with a reason. Runs again safely after a crash.
 */
export async function runBuildJob(deps: BuildJobDeps, deploymentId: string, ctx: JobContext): Promise<void> {
  const claim = await deps.deployments.claimBuild(deploymentId);
  if (claim === 'skip') return;
  if (claim === 'busy') await ctx.retryLater(BUSY_RETRY_MS);

  const deployment = await deps.deployments.get(deploymentId);
  const app = await deps.apps.byId(deployment.appId);
  const repo = deps.apps.repoAccess(app);
  const access = repo?.access ?? null;
  const secrets = await deps.variables.valuesOfApp(app.id);
  if (access?.credentials?.kind === 'token') secrets.push(access.credentials.token);
  secrets.push(...registryCredentials(deps.settings.registries ?? {}));
  secrets.push(...registrySecrets(deps.apps, app));
  const mask = createSecretMask(secrets);
  const log = new DeploymentLogWriter(deps.deployments, deploymentId, {
    mask,
    maxBytes: deps.settings.logMaxBytes,
    onError: (err) => deps.logger.warn({ err, deploymentId }, 'build log lines not stored yet'),
  });
  const abort = new AbortController();
  const watcher = watchForCancel(deps, deploymentId, abort);
  const activity: DiskActivity = deployment.image ? 'pull' : 'build';
  const diskWatch = watchDiskSpace(deps, deploymentId, abort, activity);
  try {
    // A prebuilt image (`POST …/deployments { image }`) is pulled instead of built (pull-image.ts).
    if (deployment.image) {
      await guardDiskSpace(deps, diskWatch, activity);
      return await pullPrebuiltImage(deps, { ...deployment, image: deployment.image }, app, log, abort.signal);
    }
    if (!access) throw new BuildError('the app has no repository configured');
    if (repo?.withheld) {
      // Bound to another origin than the clone URL's: never sent there (only a direct database change gets here).
      deps.logger.warn({ deploymentId, app: app.name, boundTo: repo.withheld.boundTo }, 'repository credentials withheld');
      log.write(`repository credentials are for ${repo.withheld.boundTo}, not this repository's origin: not sent`, 'system');
    }
    await guardCapacity(deps, deployment, app.name);
    await guardDiskSpace(deps, diskWatch, activity);
    const sha = deployment.commitSha ?? (await resolveCommit(deps, deployment, access, log, abort.signal));
    const image = await buildCommit(
      deps,
      {
        repo: access,
        sha,
        appName: app.name,
        dockerfilePath: app.dockerfilePath,
        configPath: app.configPath,
        prepare: (settings) => acceptRepoSettings(deps, deployment, app.name, settings),
        labels: { [LABEL_APP]: app.name, [LABEL_DEPLOYMENT]: deploymentId, [LABEL_COMMIT]: sha, [LABEL_ROLE]: 'app-image' },
        images: deps.settings.images,
        registries: deps.settings.registries ?? {},
        workDirectory: deps.settings.workDirectory,
        maxContextBytes: deps.settings.maxContextBytes,
        memoryBytes: deps.settings.memoryBytes,
        timeoutMs: deps.settings.timeoutMs,
      },
      (line, stream) => log.write(line, stream ?? 'stdout'),
      abort.signal,
    );
    log.write(`built ${image.tag} (${image.imageId})`, 'system');
    await log.close();
    await deps.deployments.transition(
      deploymentId,
      ['building'],
      'deploying',
      { imageId: image.imageId, buildFinishedAt: new Date() },
      `built ${image.tag}`,
      // The image is the release's: the deploy job makes it the environment's desired release.
      { job: 'deploy' },
    );
    deps.logger.info({ deploymentId, app: app.name, imageId: image.imageId }, 'build finished');
    await pruneAppImages(deps, app);
  } catch (err) {
    await finishUnbuilt(deps, deploymentId, stopCause(err, abort.signal), log, mask);
  } finally {
    clearInterval(watcher);
    await diskWatch.stop();
  }
}

/**
 * What the repository says at the commit, before anything is built: kept
 * with the deployment (the deploy job makes the release's settings from it),
 * and refused while a variable it requires is missing in the environment.
 */
async function acceptRepoSettings(
  deps: BuildJobDeps,
  deployment: DeploymentRow,
  appName: string,
  settings: RepoSettings,
): Promise<void> {
  await deps.deployments.setRepoConfig(deployment.id, settings);
  const env = await deps.environments.byId(deployment.environmentId);
  const required = repoConfigFor(settings.pierJson, env.name).requiredVariables;
  if (required.length === 0) return;
  const present = [
    ...Object.keys(await deps.variables.plain(env.id)),
    ...(await deps.services.injectedVariableNames(env.id)),
    'PORT',
  ];
  const missing = missingVariables(required, present);
  if (missing.length > 0) throw new BuildError(missingVariablesReason(appName, env.name, missing));
}

async function resolveCommit(
  deps: BuildJobDeps,
  deployment: DeploymentRow,
  access: RepoAccess,
  log: DeploymentLogWriter,
  signal: AbortSignal,
): Promise<string> {
  const ref = parseRef(deployment.gitRef);
  log.write(`resolving ${deployment.gitRef}`, 'system');
  const sha = await deps.fetcher.resolve(access, ref, signal);
  await deps.deployments.setCommit(deployment.id, sha);
  return sha;
}

function parseRef(gitRef: string | null): GitRef {
  if (gitRef?.startsWith('refs/heads/')) return { kind: 'branch', name: gitRef.slice('refs/heads/'.length) };
  if (gitRef?.startsWith('refs/tags/')) return { kind: 'tag', name: gitRef.slice('refs/tags/'.length) };
  throw new BuildError(`the deployment names neither a commit nor a branch or tag (${gitRef ?? 'nothing'})`);
}

/** Refuses to begin a build whose memory limit (PIER_BUILD_MEMORY_MB) the host cannot hold besides what is reserved. */
async function guardCapacity(
  deps: BuildJobDeps,
  deployment: { id: string; appId: string; environmentId: string },
  appName: string,
): Promise<void> {
  if (!deps.capacity) return;
  const decision = await deps.capacity.check({
    kind: 'build',
    action: `building ${appName}`,
    memoryBytes: deps.settings.memoryBytes,
    // Claimed already: this build is `building`, and not counted against itself.
    own: { deploymentId: deployment.id },
    subject: { appId: deployment.appId, environmentId: deployment.environmentId },
  });
  if (!decision.ok) throw new BuildError(`not enough capacity: ${decision.reason}`);
}

/** Refuses to begin below the minimum free disk space, then watches it while the build or pull runs. */
async function guardDiskSpace(deps: BuildJobDeps, watch: BuildDiskWatch, activity: DiskActivity): Promise<void> {
  const problem = diskSpaceProblem(await deps.runtime.freeDiskBytes(), deps.settings.minFreeDiskBytes, 'before', activity);
  if (problem) throw new BuildError(problem);
  watch.start();
}

/** Stops the build or pull (through `abort`) when free disk space falls below the minimum while it runs. */
function watchDiskSpace(
  deps: BuildJobDeps,
  deploymentId: string,
  abort: AbortController,
  activity: DiskActivity,
): BuildDiskWatch {
  return new BuildDiskWatch({
    freeDiskBytes: () => deps.runtime.freeDiskBytes(),
    minFreeBytes: deps.settings.minFreeDiskBytes,
    activity,
    intervalMs: deps.settings.diskCheckIntervalMs,
    onLow: (reason) => {
      deps.logger.warn({ deploymentId }, reason);
      if (!abort.signal.aborted) abort.abort(new BuildError(reason));
    },
    onError: (err) => deps.logger.warn({ err, deploymentId }, 'free disk space could not be checked'),
  });
}

/**
 * What a build stopped through `abort` failed of: the stop's own reason (low
 * disk space, a cancel request) rather than the plain "build cancelled" of the
 * step it interrupted, keeping that step's last lines.
 */
function stopCause(err: unknown, signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (!signal.aborted || !(reason instanceof BuildError)) return err;
  return new BuildError(reason.message, err instanceof BuildError ? err.lastLines : [], { cause: err });
}

/** Polls for a cancel request and aborts the build when one arrives. */
function watchForCancel(deps: BuildJobDeps, deploymentId: string, abort: AbortController): NodeJS.Timeout {
  return setInterval(() => {
    deps.deployments.isCancelRequested(deploymentId).then(
      (requested) => {
        if (requested && !abort.signal.aborted) abort.abort(new BuildError('build cancelled on request'));
      },
      () => {},
    );
  }, deps.cancelPollMs ?? 1000);
}

/** Marks the deployment failed (or cancelled) with a reason a user can act on. */
async function finishUnbuilt(
  deps: BuildJobDeps,
  deploymentId: string,
  err: unknown,
  log: DeploymentLogWriter,
  mask: (text: string) => string,
): Promise<void> {
  const cancelled = await deps.deployments.isCancelRequested(deploymentId).catch(() => false);
  const message = mask(err instanceof PierError ? err.message : `internal error: ${(err as Error).message}`);
  if (!(err instanceof PierError)) deps.logger.error({ err, deploymentId }, 'build crashed');
  log.write(message, 'system');
  const tail = err instanceof BuildError && err.lastLines.length > 0 ? err.lastLines.map(mask) : log.tail();
  await log.close();
  const reason = cancelled ? 'cancelled on request' : [message, ...tail.slice(-20)].join('\n');
  const now = new Date();
  await deps.deployments.transition(deploymentId, ['building'], cancelled ? 'cancelled' : 'failed', {
    reason,
    buildFinishedAt: now,
    finishedAt: now,
  });
}
