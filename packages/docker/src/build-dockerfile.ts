import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { remoteAddProblem } from './remote-add.ts';

/** Files larger than this are no Dockerfile; the Engine refuses them anyway. */
const MAX_DOCKERFILE_BYTES = 1024 * 1024;

/**
 * Why the build's Dockerfile must not be built before the Engine sees it, or
 * undefined: a remote `ADD` (see `remoteAddProblem`), or a path to it through
 * a symlink (the Engine resolves symlinks inside the context, which this check
 * could not follow exactly). A missing Dockerfile is left to the Engine to report.
 */
export async function dockerfileProblem(contextDirectory: string, dockerfile: string): Promise<string | undefined> {
  let path = contextDirectory;
  for (const part of dockerfile.split('/')) {
    path = join(path, part);
    const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (!stats) return undefined;
    if (stats.isSymbolicLink()) {
      return `${dockerfile} is reached through a symbolic link; the Dockerfile must be a regular file of the repository`;
    }
  }
  const stats = await lstat(path);
  if (!stats.isFile() || stats.size > MAX_DOCKERFILE_BYTES) return `${dockerfile} is not a Dockerfile of at most 1 MiB`;
  return remoteAddProblem(await readFile(path, 'utf8'), dockerfile);
}
