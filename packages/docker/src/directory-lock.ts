import { mkdir, rmdir, stat } from 'node:fs/promises';

const POLL_MS = 50;

export interface DirectoryLockOptions {
  /** Give up waiting after this long. */
  waitMs: number;
  /** A lock older than this was left by a process that died holding it, and is taken over. */
  staleMs: number;
}

/**
 * Runs `work` while holding a lock between processes of this host: the
 * directory `path`, which `mkdir` creates for one caller only. A lock left by
 * a crashed holder is taken over once `staleMs` old.
 */
export async function withDirectoryLock<T>(path: string, options: DirectoryLockOptions, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + options.waitMs;
  while (!(await tryLock(path))) {
    const since = await stat(path).then(
      (s) => s.mtimeMs,
      () => Date.now(),
    );
    if (Date.now() - since > options.staleMs) await rmdir(path).catch(() => {});
    else if (Date.now() > deadline) throw new Error(`${path} is still locked after ${options.waitMs} ms`);
    else await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work();
  } finally {
    await rmdir(path).catch(() => {});
  }
}

async function tryLock(path: string): Promise<boolean> {
  try {
    await mkdir(path, { mode: 0o700 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
