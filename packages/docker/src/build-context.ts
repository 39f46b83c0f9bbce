import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { type Pack, pack } from 'tar-fs';
import { type IgnoreRule, isIgnored, mayReincludeBelow, parseDockerignore } from './dockerignore.ts';

/**
 * The build context as a tar stream, like `docker build` sends it: files as
 * they are (symlinks stay symlinks, never followed), owned by root, minus what
 * `.dockerignore` excludes. The Dockerfile, `.dockerignore` and `extraFiles`
 * (written by Pier) are always sent.
 */
export async function packBuildContext(directory: string, dockerfile: string, extraFiles: readonly string[] = []): Promise<Pack> {
  const rules = parseDockerignore(await readDockerignore(directory));
  const keep = [dockerfile, ...extraFiles].map((path) => posix.normalize(path.split(sep).join('/')).replace(/^\.\//, ''));
  keep.push('.dockerignore');
  return pack(directory, {
    dereference: false,
    strict: false,
    ignore: (absolute) => isLeftOut(rules, keep, toContextPath(directory, absolute), absolute),
    map: (header) => ({ ...header, uid: 0, gid: 0 }),
  });
}

/** A path is left out when ignored, unless it is (or leads to) a kept file or a directory a `!` rule may reach into. */
export function isLeftOut(rules: readonly IgnoreRule[], keep: readonly string[], path: string, absolute: string): boolean {
  if (!isIgnored(rules, path)) return false;
  if (keep.some((kept) => kept === path || kept.startsWith(`${path}/`))) return false;
  return !(mayReincludeBelow(rules, path) && isDirectory(absolute));
}

async function readDockerignore(directory: string): Promise<string> {
  try {
    return await readFile(join(directory, '.dockerignore'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function toContextPath(directory: string, absolute: string): string {
  return relative(directory, absolute).split(sep).join('/');
}

function isDirectory(absolute: string): boolean {
  return lstatSync(absolute, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
