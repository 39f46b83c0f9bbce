import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Removes build checkouts left by a worker that was killed mid-build. Only
 * `build-*` directories older than `maxAgeMs` go: several workers may share
 * the directory, and a younger one may still be in use.
 */
export async function sweepStaleCheckouts(workDirectory: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(workDirectory, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith('build-')) continue;
    const path = join(workDirectory, entry.name);
    const { mtimeMs } = await stat(path);
    if (now - mtimeMs < maxAgeMs) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
