import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildImages, detectBuild, readBuildSnapshot } from '@pier/builder';
import type { BuiltImage, ContainerRuntime, RepoAccess, SourceFetcher } from '@pier/core';

/** Where a generated Dockerfile is written inside the build context. */
export const GENERATED_DOCKERFILE = 'Dockerfile.pier';

export interface BuildCommitRequest {
  repo: RepoAccess;
  sha: string;
  appName: string;
  dockerfilePath: string;
  labels: Record<string, string>;
  images: BuildImages;
  workDirectory: string;
  maxContextBytes: number;
  memoryBytes: number;
  timeoutMs: number;
}

/**
 * Source to image: fetch the exact commit into a fresh directory, decide how
 * to build it (its Dockerfile or a generated one), build and tag
 * `pier/<app>:<sha>`. The directory is removed whatever happens.
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
    const snapshot = await readBuildSnapshot(directory, request.dockerfilePath);
    const plan = detectBuild(snapshot, { dockerfilePath: request.dockerfilePath, images: request.images });
    let dockerfile = request.dockerfilePath;
    if (plan.kind === 'generated') {
      // A file of that name from the repository (possibly a symlink) is replaced, never written through.
      const target = join(directory, GENERATED_DOCKERFILE);
      await rm(target, { force: true });
      await writeFile(target, plan.dockerfile, { mode: 0o644, flag: 'wx' });
      dockerfile = GENERATED_DOCKERFILE;
      log(`no Dockerfile: building as a ${plan.runtime} app`, 'system');
      for (const note of plan.notes) log(note, 'system');
    } else {
      log(`building with ${plan.dockerfilePath}`, 'system');
    }
    return await ports.runtime.buildImage(
      {
        contextDirectory: directory,
        dockerfile,
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
