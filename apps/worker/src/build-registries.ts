import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUILD_CA_FILE,
  type BuildImages,
  type BuildOptions,
  type BuildRegistrySettings,
  versionedRepository,
} from '@pier/builder';
import { exitOnStartupError, type WorkerConfig } from '@pier/config';
import type { ContainerRuntime } from '@pier/core';

/**
 * The builds' CA bundle, registries and proxies from the worker's
 * configuration. The bundle is read once, at start: one that cannot be read,
 * or holds no PEM certificate, stops the worker now rather than failing builds later.
 */
export async function buildRegistriesFromConfig(config: WorkerConfig): Promise<BuildRegistrySettings> {
  const path = config.PIER_BUILD_CA_BUNDLE;
  const caBundle =
    path === undefined
      ? undefined
      : await readFile(path, 'utf8').catch((err: Error) =>
          exitOnStartupError('worker', new Error(`PIER_BUILD_CA_BUNDLE: cannot read ${path}: ${err.message}`)),
        );
  if (caBundle !== undefined && !caBundle.includes('-----BEGIN CERTIFICATE-----'))
    exitOnStartupError('worker', new Error(`PIER_BUILD_CA_BUNDLE: ${path} holds no PEM certificate`));
  const settings: BuildRegistrySettings = {
    caBundle,
    npmRegistry: config.PIER_NPM_REGISTRY,
    corepackIntegrityKeys: config.PIER_COREPACK_INTEGRITY_KEYS,
    pipIndexUrl: config.PIER_PIP_INDEX_URL,
    httpProxy: config.HTTP_PROXY,
    httpsProxy: config.HTTPS_PROXY,
    noProxy: config.NO_PROXY,
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

/**
 * The local version tags of the configured Node and Python images
 * (`pier-local/node:18`, `pier-local/python:3.11`), for `detectBuild` to
 * choose from; none for an image that names its own tag.
 */
export async function offeredTags(runtime: ContainerRuntime, images: BuildImages): Promise<BuildOptions['offeredTags']> {
  const tagsOf = async (image: string): Promise<string[]> => {
    const repository = versionedRepository(image);
    return repository === undefined ? [] : runtime.imageTags(repository);
  };
  const [node, python] = await Promise.all([tagsOf(images.node), tagsOf(images.python)]);
  return { node, python };
}

/**
 * Writes the CA bundle into a generated build's context, for its install
 * stage; returns the files written (sent whatever `.dockerignore` says). A
 * repository file of that name (possibly a symlink) is replaced, never
 * written through.
 */
export async function writeBuildCa(contextDirectory: string, caBundle: string | undefined): Promise<string[]> {
  if (caBundle === undefined) return [];
  const target = join(contextDirectory, BUILD_CA_FILE);
  await rm(target, { force: true });
  await writeFile(target, caBundle, { mode: 0o644, flag: 'wx' });
  return [BUILD_CA_FILE];
}
