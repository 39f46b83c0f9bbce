import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { repoPathProblem, ValidationError } from '@pier/core';
import type { BuildSnapshot, Lockfile } from './build-plan.ts';

/** Largest root file read for detection; real ones are a few kilobytes. */
export const SNAPSHOT_FILE_MAX_BYTES = 1024 * 1024;

/** Lockfiles in the order they are looked for; npm itself prefers npm-shrinkwrap.json. */
export const LOCKFILES: readonly Lockfile[] = ['npm-shrinkwrap.json', 'package-lock.json', 'yarn.lock', 'pnpm-lock.yaml'];

/**
 * Reads the files `detectBuild` needs from a checked-out repository. Only
 * regular files count (a symlink counts when its target is a regular file
 * inside `directory`); a file over SNAPSHOT_FILE_MAX_BYTES is a ValidationError.
 */
export async function readBuildSnapshot(directory: string, dockerfilePath: string): Promise<BuildSnapshot> {
  const problem = repoPathProblem(dockerfilePath);
  if (problem) throw new ValidationError(`dockerfilePath: ${problem}`, 'dockerfilePath');
  const root = await realpath(directory);
  const read = (path: string) => readRootFile(root, path);
  const present = async (path: string) => (await regularFile(root, path)) !== undefined;
  return {
    dockerfile: await read(dockerfilePath),
    packageJson: await read('package.json'),
    lockfile: await firstPresent(LOCKFILES, present),
    procfile: await read('Procfile'),
    requirementsTxt: await read('requirements.txt'),
    pyprojectToml: await read('pyproject.toml'),
    ...(await nodeVersionFile(read)),
    pythonVersionFile: await read('.python-version'),
    runtimeTxt: await read('runtime.txt'),
    serverJs: await present('server.js'),
    managePy: await present('manage.py'),
  };
}

/** `.nvmrc`, else `.node-version`: its text and which it is. */
async function nodeVersionFile(
  read: (path: string) => Promise<string | undefined>,
): Promise<Pick<BuildSnapshot, 'nodeVersionFile' | 'nodeVersionFileName'>> {
  for (const name of ['.nvmrc', '.node-version'] as const) {
    const text = await read(name);
    if (text !== undefined) return { nodeVersionFile: text, nodeVersionFileName: name };
  }
  return {};
}

async function firstPresent<T extends string>(
  names: readonly T[],
  present: (name: T) => Promise<boolean>,
): Promise<T | undefined> {
  for (const name of names) if (await present(name)) return name;
  return undefined;
}

async function readRootFile(root: string, path: string, maxBytes = SNAPSHOT_FILE_MAX_BYTES): Promise<string | undefined> {
  const file = await regularFile(root, path);
  if (file === undefined) return undefined;
  if (file.size > maxBytes) throw new ValidationError(`${path} is larger than ${maxBytes} bytes`, path);
  return readFile(file.path, 'utf8');
}

/**
 * The text of one file of a checked-out repository (`path` relative to its
 * root), or undefined when it is absent, not a regular file, or a symlink out
 * of the repository. Larger than `maxBytes`: a ValidationError.
 */
export async function readRepositoryFile(directory: string, path: string, maxBytes: number): Promise<string | undefined> {
  const problem = repoPathProblem(path);
  if (problem) throw new ValidationError(`${path}: ${problem}`, path);
  return readRootFile(await realpath(directory), path, maxBytes);
}

/**
 * The real path of a folder of a checked-out repository (`path` relative to
 * its root), or undefined unless it is a directory inside the repository.
 */
export async function repositoryFolder(directory: string, path: string): Promise<string | undefined> {
  const root = await realpath(directory);
  try {
    const real = await realpath(join(root, path));
    if (!isInside(root, real)) return undefined;
    return (await stat(real)).isDirectory() ? real : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** The real path and size of `path` under `root` if it resolves to a regular file inside `root`, else undefined. */
async function regularFile(root: string, path: string): Promise<{ path: string; size: number } | undefined> {
  try {
    const real = await realpath(join(root, path));
    if (!isInside(root, real)) return undefined;
    const info = await stat(real);
    return info.isFile() ? { path: real, size: info.size } : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
