import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  type BuildImages,
  type BuildRegistrySettings,
  detectBuild,
  parseProcfile,
  planBuildArgs,
  readBuildSnapshot,
  readRepositoryFile,
  registryBuildArgs,
  repositoryFolder,
} from '@pier/builder';
import {
  BuildError,
  type BuiltImage,
  type ContainerRuntime,
  parseRepoConfig,
  REPO_CONFIG_MAX_BYTES,
  type RepoAccess,
  type RepoConfig,
  type RepoSettings,
  type SourceFetcher,
  ValidationError,
} from '@pier/core';
import { offeredTags, writeBuildCa } from './build-registries.ts';

/** Where a generated Dockerfile is written inside the build context. */
export const GENERATED_DOCKERFILE = 'Dockerfile.pier';

export interface BuildCommitRequest {
  repo: RepoAccess;
  sha: string;
  appName: string;
  /** The app's Dockerfile path (API setting); `pier.json`'s `build.dockerfile` wins. */
  dockerfilePath: string;
  /** Where the app's `pier.json` is, relative to the repository root. */
  configPath: string;
  labels: Record<string, string>;
  images: BuildImages;
  /** CA bundle, registries and proxies of builds: see BuildRegistrySettings. */
  registries: BuildRegistrySettings;
  workDirectory: string;
  maxContextBytes: number;
  memoryBytes: number;
  timeoutMs: number;
  /**
   * Called with what the repository says (its `pier.json`, its Procfile's
   * release line) once read, before anything is built: throwing stops the
   * build, with nothing applied.
   */
  prepare?: (settings: RepoSettings) => Promise<void>;
}

/**
 * Source to image: fetch the exact commit into a fresh directory, read its
 * `pier.json`, decide how to build it (its Dockerfile or a generated one, in
 * the configured build context), build and tag `pier/<app>:<sha>`. The
 * directory is removed whatever happens.
 */
export async function buildCommit(
  ports: { fetcher: SourceFetcher; runtime: ContainerRuntime },
  request: BuildCommitRequest,
  log: (line: string, stream?: 'stdout' | 'system') => void,
  signal: AbortSignal,
): Promise<BuiltImage> {
  const directory = await mkdtemp(join(request.workDirectory, 'build-'));
  try {
    log(`fetching commit ${request.sha}`, 'system');
    const source = await ports.fetcher.fetch(
      { repo: request.repo, sha: request.sha, directory, maxBytes: request.maxContextBytes },
      signal,
    );
    log(`fetched ${Math.ceil(source.bytes / 1024)} KiB`, 'system');
    const pierJson = await readPierJson(directory, request.configPath, log);
    const layout = await buildLayout(directory, request, pierJson);
    const snapshot = await readBuildSnapshot(layout.contextDirectory, layout.dockerfile);
    refuseDockerfileSettings(pierJson?.build ?? {}, layout, snapshot.dockerfile !== undefined, request.configPath);
    await request.prepare?.({ pierJson, ...procfileSettings(snapshot) });
    const build = pierJson?.build ?? {};
    const plan = detectBuild(snapshot, {
      dockerfilePath: layout.dockerfile,
      images: request.images,
      ...(build.command === undefined ? {} : { buildCommand: build.command }),
      offeredTags: await offeredTags(ports.runtime, request.images),
      caBundle: request.registries.caBundle !== undefined,
    });
    let dockerfile = layout.dockerfile;
    let contextFiles: string[] = [];
    if (plan.kind === 'generated') {
      // A file of that name from the repository (possibly a symlink) is replaced, never written through.
      const target = join(layout.contextDirectory, GENERATED_DOCKERFILE);
      await rm(target, { force: true });
      await writeFile(target, plan.dockerfile, { mode: 0o644, flag: 'wx' });
      dockerfile = GENERATED_DOCKERFILE;
      contextFiles = await writeBuildCa(layout.contextDirectory, request.registries.caBundle);
      log(`no Dockerfile: building as a ${plan.runtime} app`, 'system');
      for (const note of plan.notes) log(note, 'system');
    } else {
      log(`building with ${layout.describe}`, 'system');
    }
    return await ports.runtime.buildImage(
      {
        contextDirectory: layout.contextDirectory,
        dockerfile,
        ...(build.target === undefined ? {} : { target: build.target }),
        // The operator's proxies and registries, and Pier's own, win over the repository's build args of the same name.
        buildArgs: {
          ...build.args,
          ...registryBuildArgs(request.registries, plan.kind === 'generated'),
          ...planBuildArgs(plan, request.appName),
        },
        contextFiles,
        tag: `pier/${request.appName}:${request.sha}`,
        labels: request.labels,
        memoryBytes: request.memoryBytes,
        timeoutMs: request.timeoutMs,
      },
      (line) => log(line),
      signal,
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** The repository's `pier.json` at the commit, validated; null when it has none. */
async function readPierJson(
  directory: string,
  configPath: string,
  log: (line: string, stream?: 'system') => void,
): Promise<RepoConfig | null> {
  const text = await readRepositoryFile(directory, configPath, REPO_CONFIG_MAX_BYTES);
  if (text === undefined) return null;
  const config = parseRepoConfig(text, configPath);
  log(`read ${configPath}`, 'system');
  return config;
}

interface BuildLayout {
  /** The folder sent to the Engine as the build context. */
  contextDirectory: string;
  /** The Dockerfile's path inside the context. */
  dockerfile: string;
  /** The Dockerfile's path from the repository root. */
  dockerfilePath: string;
  /** e.g. `web/Dockerfile (context web, from pier.json)`, for the log. */
  describe: string;
}

/**
 * The build context and the Dockerfile inside it: `pier.json`'s `build`
 * settings, else the app's `dockerfilePath` with the repository root as the
 * context. A context set without a Dockerfile means `<context>/Dockerfile`.
 */
async function buildLayout(directory: string, request: BuildCommitRequest, pierJson: RepoConfig | null): Promise<BuildLayout> {
  const build = pierJson?.build ?? {};
  const context = build.context ?? '';
  const fromFile = build.dockerfile !== undefined || build.context !== undefined;
  const dockerfilePath = build.dockerfile ?? (build.context !== undefined ? `${context}/Dockerfile` : request.dockerfilePath);
  const contextDirectory = context === '' ? directory : await repositoryFolder(directory, context);
  if (contextDirectory === undefined)
    throw new BuildError(
      `the build context ${context} (build.context in ${request.configPath}) is not a folder of the repository at this commit`,
    );
  const dockerfile = context === '' ? dockerfilePath : posix.relative(context, dockerfilePath);
  if (dockerfile.startsWith('..'))
    throw new ValidationError(
      `${request.configPath}: build.dockerfile ${dockerfilePath} is outside the build context ${context}: move it into that folder or widen build.context`,
      'build.dockerfile',
    );
  const setting = fromFile ? `from ${request.configPath}` : 'the app’s dockerfilePath';
  return {
    contextDirectory,
    dockerfile,
    dockerfilePath,
    describe: `${dockerfilePath} (${context === '' ? 'repository root' : `context ${context}`}, ${setting})`,
  };
}

/**
 * `pier.json` settings only a Dockerfile build can honour, refused when the
 * commit has no Dockerfile where they point: an explicit `build.dockerfile`
 * that is missing (rather than generating a build in its place), and
 * `build.target` for a generated build, whose stages are Pier's (the install
 * stage holds the build's CA bundle and registry arguments, never to ship).
 */
function refuseDockerfileSettings(
  build: NonNullable<RepoConfig['build']>,
  layout: BuildLayout,
  dockerfileFound: boolean,
  configPath: string,
): void {
  if (dockerfileFound) return;
  if (build.dockerfile !== undefined)
    throw new BuildError(
      `the Dockerfile ${layout.dockerfilePath} (build.dockerfile in ${configPath}) is not a file of the repository at this commit: add it, or correct or remove build.dockerfile`,
    );
  if (build.target !== undefined)
    throw new BuildError(
      `build.target (in ${configPath}) is only for a Dockerfile build: there is no ${layout.dockerfilePath} at this commit, so Pier generates the build; remove build.target or add the Dockerfile`,
    );
}

/**
 * What a deployment keeps of the Procfile: its `release:` line, its process
 * types, and whether the image will have no web (a generated build, neither
 * a Dockerfile nor a package.json to start a web, from a Procfile without
 * `web:`: detect-build gives the image the first other type's command).
 */
function procfileSettings(snapshot: {
  procfile?: string;
  dockerfile?: string;
  packageJson?: string;
}): Omit<RepoSettings, 'pierJson'> {
  if (snapshot.procfile === undefined) return {};
  const processes = parseProcfile(snapshot.procfile);
  const release = processes.get('release');
  processes.delete('release');
  const webless =
    processes.size > 0 && !processes.has('web') && snapshot.dockerfile === undefined && snapshot.packageJson === undefined;
  return {
    ...(release === undefined ? {} : { procfileRelease: release }),
    ...(processes.size === 0 ? {} : { procfileProcesses: Object.fromEntries(processes) }),
    ...(webless ? { procfileWebless: true as const } : {}),
  };
}
