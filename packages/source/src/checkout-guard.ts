import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { ValidationError } from '@pier/core';

const FIELD = 'repository';
const MAX_LINK_HOPS = 40;

/**
 * Walks a checkout without following links. Refuses (ValidationError naming
 * `repository`) any symlink that resolves outside `directory`, and a total of
 * regular-file bytes over `maxBytes`. Returns that total.
 */
export async function inspectCheckout(directory: string, maxBytes: number): Promise<number> {
  const root = await realpath(directory);
  let bytes = 0;
  const pending = [root];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isSymbolicLink()) await assertLinkInside(root, path);
      else if (entry.isFile()) bytes += (await lstat(path)).size;
      if (bytes > maxBytes) throw new ValidationError(`the checkout is larger than the limit of ${maxBytes} bytes`, FIELD);
    }
  }
  return bytes;
}

async function assertLinkInside(root: string, link: string): Promise<void> {
  if (await escapes(root, link))
    throw new ValidationError(`symlink ${JSON.stringify(relative(root, link))} points outside the repository`, FIELD);
}

/**
 * Resolves a symlink one path segment at a time, following links met on the way
 * (as the kernel would), and reports whether any step leaves `root`. Absolute
 * targets always count as leaving: the checkout is moved into a build context.
 * Missing segments are resolved lexically; a loop counts as escaping.
 */
export async function escapes(root: string, link: string): Promise<boolean> {
  let current = dirname(link);
  let segments = await linkSegments(link);
  if (segments === undefined) return true;
  for (let hops = 0; segments.length > 0; ) {
    const [segment = '', ...rest] = segments;
    segments = rest;
    if (segment === '' || segment === '.') continue;
    current = segment === '..' ? dirname(current) : join(current, segment);
    if (!isInside(root, current)) return true;
    if (segment === '..' || !(await isLink(current))) continue;
    if (++hops > MAX_LINK_HOPS) return true;
    const target = await linkSegments(current);
    if (target === undefined) return true;
    current = dirname(current);
    segments = [...target, ...segments];
  }
  return false;
}

/** A link's target split into segments, or undefined when it is absolute. */
async function linkSegments(link: string): Promise<string[] | undefined> {
  const target = await readlink(link);
  return isAbsolute(target) ? undefined : target.split('/');
}

async function isLink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
