import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildRequest } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from './docker-runtime.ts';

// What the port's conformance suite (test/conformance/container-runtime.ts) does not cover: Docker specifics.
const run = randomBytes(4).toString('hex');
const labels = { 'pier.app': `pier-docker-${run}`, 'pier.test': '1' };
const runtime = new DockerRuntime();
let directory: string;

function request(tag: string): BuildRequest {
  return {
    contextDirectory: directory,
    dockerfile: 'Dockerfile',
    tag: `pier-docker-${run}:${tag}`,
    labels,
    memoryBytes: 256 * 1024 * 1024,
    timeoutMs: 45_000,
  };
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'pier-docker-'));
  const dockerfile = `FROM pier-local/debian:bookworm\nCOPY . /ctx\nRUN find /ctx -mindepth 1 | sort && readlink /ctx/link && echo ${run}\n`;
  await writeFile(join(directory, 'Dockerfile'), dockerfile);
  await writeFile(join(directory, '.dockerignore'), 'secret.txt\n');
  await writeFile(join(directory, 'secret.txt'), 'do not send');
  await writeFile(join(directory, 'kept.txt'), 'send');
  await symlink('/etc/hostname', join(directory, 'link'));
});

afterAll(async () => {
  for (const image of await runtime.listImages(labels)) await runtime.removeImage(image.imageId);
  await rm(directory, { recursive: true, force: true });
});

describe('DockerRuntime', () => {
  it('sends the context like docker build: .dockerignore honoured, symlinks sent as links; a throwing onLine is harmless', async () => {
    const lines: string[] = [];
    const built = await runtime.buildImage(request('context'), (line) => {
      lines.push(line);
      throw new Error('a careless listener');
    });
    expect(built.imageId).toMatch(/^sha256:/);
    expect(lines).toEqual(expect.arrayContaining(['/ctx/.dockerignore', '/ctx/Dockerfile', '/ctx/kept.txt', '/ctx/link']));
    expect(lines).toContain('/etc/hostname');
    expect(lines).not.toContain('/ctx/secret.txt');
  }, 60_000);

  it('removes an image under every tag it has', async () => {
    const built = await runtime.buildImage(request('first'), () => {});
    await runtime.docker.getImage(built.imageId).tag({ repo: `pier-docker-${run}`, tag: 'second' });
    await runtime.removeImage(built.imageId);
    await expect(runtime.docker.getImage(built.imageId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 60_000);

  it('names the Engine error when the Dockerfile is missing', async () => {
    const error = await runtime.buildImage({ ...request('missing'), dockerfile: 'nope/Dockerfile' }, () => {}).catch((e) => e);
    expect(error).toMatchObject({ name: 'BuildError', message: expect.stringMatching(/^build failed: .*nope\/Dockerfile/) });
  });
});
