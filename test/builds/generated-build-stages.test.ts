import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BuildError, LABEL_APP, LABEL_COMMIT, LABEL_ROLE } from '@pier/core';
import { DockerRuntime } from '@pier/docker';
import { createLogger } from '@pier/log';
import { GitSourceFetcher } from '@pier/source';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAppImages } from '../../apps/worker/src/app-image-sweep.ts';
import { type BuildCommitRequest, buildCommit } from '../../apps/worker/src/build-commit.ts';
import { pruneAppImages } from '../../apps/worker/src/prune-app-images.ts';
import { type TestFile, TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';

/**
 * The install stage of a generated build (the classic builder keeps it,
 * untagged, after every build) is the app's: pruning keeps only the newest,
 * and removing the app's images removes them all. And `pier.json` settings
 * that only a Dockerfile build can honour are refused for a generated one.
 *
 * The builds start FROM a base image of this run (pier-local/node plus a
 * label), so every image they leave carries that label whatever Pier does,
 * and the Engine's `dangling` filter can be restricted to them.
 */

const run = randomBytes(3).toString('hex');
const RUN_LABEL = 'pier.test-run';
const base = `pier-test/stage-base-${run}`;
const docker = new DockerRuntime();
const logger = createLogger({ name: 'test', level: 'silent', format: 'json' });
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-stages-'));
const fetcher = new GitSourceFetcher({ allowFileUrls: true, tempDirectory: workDirectory });
const repos: TestGitRepository[] = [];
const apps: string[] = [];

beforeAll(async () => {
  const context = await mkdtemp(join(tmpdir(), 'pier-stage-base-'));
  try {
    await writeFile(join(context, 'Dockerfile'), `FROM pier-local/node\nLABEL ${RUN_LABEL}=${run}\n`);
    const stream = (await docker.docker.buildImage(
      { context, src: ['Dockerfile'] },
      { t: base, networkmode: 'none', rm: true, forcerm: true },
    )) as unknown as Readable;
    await new Promise((resolve, reject) =>
      docker.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(undefined))),
    );
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}, 60_000);

afterAll(async () => {
  for (const app of apps) await removeAppImages(docker, app, logger).catch(() => {});
  for (const image of await imagesOfRun({ all: true })) {
    await docker.docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
  }
  await docker.docker
    .getImage(base)
    .remove()
    .catch(() => {});
  for (const repo of repos) repo.remove();
  rmSync(workDirectory, { recursive: true, force: true });
});

/** Images built FROM this run's base; `dangling`: untagged only (`docker images [-a] --filter dangling=true`). */
async function imagesOfRun(options: { all?: boolean; dangling?: boolean } = {}) {
  const filters = { label: [`${RUN_LABEL}=${run}`], ...(options.dangling ? { dangling: ['true'] } : {}) };
  return docker.docker.listImages({ all: options.all === true, filters: JSON.stringify(filters) });
}

function newRepo(kind: string): { app: string; repo: TestGitRepository } {
  const app = `stages-${kind}-${run}`;
  const repo = new TestGitRepository();
  repos.push(repo);
  apps.push(app);
  return { app, repo };
}

/** A Node app with no dependencies: `npm install` needs no registry. */
function nodeApp(answer: string, extra: Record<string, TestFile> = {}): Record<string, TestFile> {
  return {
    'package.json': JSON.stringify({ name: 'stages', version: '1.0.0', scripts: { start: 'node server.js' } }),
    'server.js': `require('http').createServer((q, s) => s.end(${JSON.stringify(answer)})).listen(process.env.PORT);\n`,
    ...extra,
  };
}

function build(app: string, repo: TestGitRepository, sha: string, lines: string[] = []) {
  const request: BuildCommitRequest = {
    repo: { cloneUrl: repo.url },
    sha,
    appName: app,
    dockerfilePath: 'Dockerfile',
    configPath: 'pier.json',
    labels: { [LABEL_APP]: app, [LABEL_COMMIT]: sha, [LABEL_ROLE]: 'app-image' },
    images: { node: base, python: 'pier-local/python', procfile: null },
    registries: {},
    workDirectory,
    maxContextBytes: 10 * 1024 * 1024,
    memoryBytes: 1024 * 1024 * 1024,
    timeoutMs: 5 * 60_000,
  };
  return buildCommit({ fetcher, runtime: docker }, request, (line) => lines.push(line), new AbortController().signal);
}

describe('the install stage of generated builds', () => {
  it('is the app’s: pruning keeps only the newest, and removing the app’s images removes them all', async () => {
    const { app, repo } = newRepo('kept');
    const first = repo.commit(nodeApp('one'));
    repo.push();
    await build(app, repo, first);
    const [firstStage, ...othersAfterFirst] = await imagesOfRun({ dangling: true });
    expect(othersAfterFirst).toEqual([]);
    const second = repo.commit(nodeApp('two'));
    repo.push();
    await build(app, repo, second);
    expect(await imagesOfRun({ dangling: true })).toHaveLength(2);

    await pruneAppImages(
      { runtime: docker, deployments: { imagesInUse: async () => [] }, settings: { keepImages: 5 }, logger },
      {
        id: 'no-deployments',
        name: app,
      },
    );
    const [newest, ...others] = await imagesOfRun({ dangling: true });
    expect(others).toEqual([]);
    expect(newest?.Id).not.toBe(firstStage?.Id);
    expect(newest?.Labels).toMatchObject({ [LABEL_APP]: app, [LABEL_ROLE]: 'build-stage' });
    expect(await imagesOfRun()).toHaveLength(4); // the base, two app images, the newest install stage

    const { images } = await removeAppImages(docker, app, logger);
    expect(images).toBe(3);
    expect(await imagesOfRun({ all: true, dangling: true })).toEqual([]);
    expect((await imagesOfRun({ all: true })).map((image) => image.RepoTags)).toEqual([[`${base}:latest`]]);
  }, 240_000);
});

describe('pier.json settings only a Dockerfile build honours', () => {
  it.each([
    [
      'build.target, for a generated build',
      { build: { target: 'install' } },
      'build.target (in pier.json) is only for a Dockerfile build: there is no Dockerfile at this commit, so Pier generates the build',
    ],
    [
      'an explicit build.dockerfile the commit lacks',
      { build: { dockerfile: 'docker/Dockerfile.prod' } },
      'the Dockerfile docker/Dockerfile.prod (build.dockerfile in pier.json) is not a file of the repository at this commit',
    ],
  ])(
    'refuses %s, naming the setting, before anything is built',
    async (kind, pierJson, message) => {
      const { app, repo } = newRepo(kind.startsWith('build.target') ? 'target' : 'dockerfile');
      const sha = repo.commit(nodeApp('never', { 'pier.json': JSON.stringify(pierJson) }));
      repo.push();
      const lines: string[] = [];
      const error = await build(app, repo, sha, lines).then(
        () => new Error('built'),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BuildError);
      expect((error as BuildError).message).toContain(message);
      expect(lines.filter((line) => line.startsWith('Step '))).toEqual([]);
      expect(await docker.listImages({ [LABEL_APP]: app })).toEqual([]);
    },
    120_000,
  );
});
