import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BuildError,
  type BuildRequest,
  type BuiltImage,
  type ContainerRuntime,
  LABEL_APP,
  LABEL_RELEASE,
  NotFoundError,
} from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export interface ContainerRuntimeConformanceOptions {
  /** An image every test build starts FROM; it must exist locally. Default `pier-local/debian:bookworm`. */
  baseImage?: string;
  /** An image with `python3`, for the memory-limit test (skipped when no image has this tag). Default `pier-local/python:latest`. */
  pythonImage?: string;
  /**
   * Ids of the containers (in any state) whose command contains `marker`: how the suite sees build
   * containers left behind. Omit for a runtime without containers; those checks are then skipped.
   */
  containersWithCommand?: (marker: string) => Promise<string[]>;
}

const MiB = 1024 * 1024;
const SLOW = 60_000;

/**
 * The contract of the ContainerRuntime port (packages/core/src/ports/container-runtime.ts), run against
 * any implementation. Every image it builds carries `pier.app=pier-conformance-<random>` and
 * `pier.test=1` and is removed afterwards.
 */
export function describeContainerRuntimeConformance(
  name: string,
  makeRuntime: () => ContainerRuntime | Promise<ContainerRuntime>,
  options: ContainerRuntimeConformanceOptions = {},
): void {
  const baseImage = options.baseImage ?? 'pier-local/debian:bookworm';
  const pythonImage = options.pythonImage ?? 'pier-local/python:latest';
  const run = randomBytes(4).toString('hex');
  const app = `pier-conformance-${run}`;
  const labels = { [LABEL_APP]: app, 'pier.test': '1' };
  /** Built by several tests: after the first, only its labels differ, so the RUN step comes from the cache. */
  const tinyDockerfile = `FROM ${baseImage}\nRUN echo "tiny-$((6 * 7))-${run}"\n`;
  const directories: string[] = [];
  let runtime: ContainerRuntime;
  let builds = 0;

  /** A fresh context holding only this Dockerfile, and a request to build it. */
  async function requestFor(dockerfile: string, overrides: Partial<BuildRequest> = {}): Promise<BuildRequest> {
    const directory = await mkdtemp(join(tmpdir(), 'pier-conformance-'));
    directories.push(directory);
    await writeFile(join(directory, 'Dockerfile'), dockerfile);
    builds++;
    return {
      contextDirectory: directory,
      dockerfile: 'Dockerfile',
      tag: `pier-conformance-${run}:build-${builds}`,
      labels: { ...labels, [LABEL_RELEASE]: `build-${builds}` },
      memoryBytes: 256 * MiB,
      timeoutMs: 45_000,
      ...overrides,
    };
  }

  async function build(request: BuildRequest): Promise<{ built: BuiltImage; lines: string[]; ms: number }> {
    const lines: string[] = [];
    const started = Date.now();
    const built = await runtime.buildImage(request, (line) => lines.push(line));
    return { built, lines, ms: Date.now() - started };
  }

  /** Runs a build that must fail; `onLine` may act on the output (e.g. abort). */
  async function buildFailure(
    request: BuildRequest,
    signal?: AbortSignal,
    onLine: (line: string) => void = () => {},
  ): Promise<{ error: BuildError; lines: string[]; ms: number }> {
    const lines: string[] = [];
    const started = Date.now();
    const collect = (line: string): void => {
      lines.push(line);
      onLine(line);
    };
    const error = await runtime.buildImage(request, collect, signal).then(
      () => new Error('the build succeeded'),
      (error: unknown) => error,
    );
    expect(error).toBeInstanceOf(BuildError);
    return { error: error as BuildError, lines, ms: Date.now() - started };
  }

  /** Watches for containers running `marker` while `work` goes on; returns whether one was seen. */
  async function watchContainers(marker: string, work: Promise<unknown>): Promise<boolean> {
    const probe = options.containersWithCommand;
    if (!probe) {
      await work;
      return true;
    }
    let seen = false;
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    while (!done) {
      if ((await probe(marker)).length > 0) seen = true;
      await Promise.race([finished.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 150))]);
    }
    await finished;
    return seen;
  }

  async function expectNoContainers(marker: string): Promise<void> {
    if (options.containersWithCommand) expect(await options.containersWithCommand(marker)).toEqual([]);
  }

  describe(`ContainerRuntime conformance: ${name}`, () => {
    beforeAll(async () => {
      runtime = await makeRuntime();
    });

    afterAll(async () => {
      if (runtime) {
        for (const image of await runtime.listImages(labels)) await runtime.removeImage(image.imageId);
      }
      await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
    });

    it(
      'builds a tiny Dockerfile: image id, labels applied, RUN output streamed',
      async () => {
        const request = await requestFor(tinyDockerfile);
        const { built, lines } = await build(request);
        expect(built).toEqual({ imageId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), tag: request.tag });
        expect(lines).toContain(`tiny-42-${run}`);
        const [image, ...others] = await runtime.listImages(request.labels);
        expect(others).toEqual([]);
        expect(image).toMatchObject({
          imageId: built.imageId,
          tags: [request.tag],
          labels: expect.objectContaining(request.labels),
        });
        expect(image?.sizeBytes).toBeGreaterThan(0);
        expect(Math.abs((image?.createdAt.getTime() ?? 0) - Date.now())).toBeLessThan(5 * 60_000);
      },
      SLOW,
    );

    it(
      'rejects a failing RUN with BuildError whose lastLines hold the command output',
      async () => {
        const request = await requestFor(`FROM ${baseImage}\nRUN echo "failing-$((6 * 7))-${run}" && exit 3\n`);
        const { error, lines } = await buildFailure(request);
        expect(error.message).toMatch(/^build failed: /);
        expect(error.lastLines).toContain(`failing-42-${run}`);
        expect(error.lastLines.length).toBeLessThanOrEqual(25);
        expect(lines).toContain(`failing-42-${run}`);
        expect(await runtime.listImages(request.labels)).toEqual([]);
      },
      SLOW,
    );

    it(
      'stops a build at its timeout and leaves no build container',
      async () => {
        const marker = `timeout-${run}`;
        const request = await requestFor(`FROM ${baseImage}\nRUN sleep 60 && echo ${marker}\n`, { timeoutMs: 3_000 });
        const failure = buildFailure(request);
        expect(await watchContainers(marker, failure)).toBe(true);
        const { error, ms } = await failure;
        expect(error.message).toBe('build timed out after 3 s');
        expect(ms).toBeLessThan(10_000);
        await expectNoContainers(marker);
      },
      SLOW,
    );

    it(
      'stops a build when the signal aborts and leaves no build container',
      async () => {
        const marker = `abort-${run}`;
        const request = await requestFor(`FROM ${baseImage}\nRUN echo "started-$((1 + 1))-${marker}" && sleep 60\n`);
        const controller = new AbortController();
        let abortedAt = 0;
        const failure = buildFailure(request, controller.signal, (line) => {
          if (line !== `started-2-${marker}`) return;
          abortedAt = Date.now();
          controller.abort();
        });
        expect(await watchContainers(marker, failure)).toBe(true);
        const { error } = await failure;
        expect(error.message).toBe('build cancelled');
        expect(abortedAt).toBeGreaterThan(0);
        expect(Date.now() - abortedAt).toBeLessThan(10_000);
        expect(error.lastLines).toContain(`started-2-${marker}`);
        await expectNoContainers(marker);
      },
      SLOW,
    );

    it('rejects at once when the signal is already aborted', async () => {
      const request = await requestFor(`FROM ${baseImage}\nRUN echo never\n`);
      const { error, ms } = await buildFailure(request, AbortSignal.abort());
      expect(error.message).toBe('build cancelled');
      expect(ms).toBeLessThan(2_000);
    });

    it(
      'applies the memory limit to RUN steps',
      async (context) => {
        const python = (await runtime.listImages({})).some((image) => image.tags.includes(pythonImage));
        if (!python) context.skip();
        // Writes 200 MiB. Different nonces keep either build from reusing the other's layer, so both run at once.
        const allocate = (nonce: string): string =>
          `FROM ${pythonImage}\nRUN python3 -c "b = b'x' * (200 * 1024 * 1024); print(len(b))" && echo ${nonce}-${run}\n`;
        const limited = await requestFor(allocate('limited'), { memoryBytes: 64 * MiB });
        // The same step with room to spare succeeds, so the limit (not the command) fails the first.
        const roomy = await requestFor(allocate('roomy'), { memoryBytes: 512 * MiB });
        const [{ error }, { lines }] = await Promise.all([buildFailure(limited), build(roomy)]);
        expect(error.message).toMatch(/^build failed: /);
        expect(lines).toContain(String(200 * MiB));
      },
      SLOW,
    );

    it(
      'reuses the layer cache when rebuilding an unchanged context',
      async () => {
        const request = await requestFor(`FROM ${baseImage}\nRUN sleep 2 && echo "cached-${run}"\n`);
        const first = await build(request);
        const second = await build(request);
        expect(second.built.imageId).toBe(first.built.imageId);
        expect(second.lines.some((line) => /Using cache|CACHED/.test(line))).toBe(true);
        expect(second.lines).not.toContain(`cached-${run}`);
        expect(second.ms).toBeLessThan(first.ms / 2);
      },
      SLOW,
    );

    it(
      'lists only images carrying every given label',
      async () => {
        const one = await build(await requestFor(tinyDockerfile));
        const two = await build(await requestFor(tinyDockerfile));
        const ids = (images: { imageId: string }[]): string[] => images.map((image) => image.imageId).sort();
        expect(ids(await runtime.listImages(labels))).toEqual(expect.arrayContaining([one.built.imageId, two.built.imageId]));
        expect(ids(await runtime.listImages({ ...labels, [LABEL_RELEASE]: 'build-none' }))).toEqual([]);
        const onlyTwo = await runtime.listImages({ [LABEL_APP]: app, [LABEL_RELEASE]: `build-${builds}` });
        expect(ids(onlyTwo)).toEqual([two.built.imageId]);
      },
      SLOW,
    );

    it(
      'removes a labelled image, and removing it again is fine',
      async () => {
        const request = await requestFor(tinyDockerfile);
        const { built } = await build(request);
        await runtime.removeImage(built.imageId);
        expect(await runtime.listImages(request.labels)).toEqual([]);
        await expect(runtime.removeImage(built.imageId)).resolves.toBeUndefined();
      },
      SLOW,
    );

    it('refuses to remove an image without the pier.app label', async () => {
      const foreign = (await runtime.listImages({})).find((image) => image.tags.includes(withTag(baseImage)));
      expect(foreign, `${baseImage} must exist`).toBeDefined();
      if (!foreign) return;
      expect(foreign.labels[LABEL_APP]).toBeUndefined();
      await expect(runtime.removeImage(foreign.imageId)).rejects.toThrow();
      expect((await runtime.listImages({})).map((image) => image.imageId)).toContain(foreign.imageId);
    });

    it(
      'lists the TCP ports an image EXPOSEs, by id or tag; an image not there is a NotFoundError',
      async () => {
        const request = await requestFor(`FROM ${baseImage}\nEXPOSE 9229 53/udp\nEXPOSE 3000/tcp\n`);
        const { built } = await build(request);
        expect(await runtime.imageExposedPorts(built.imageId)).toEqual([3000, 9229]);
        expect(await runtime.imageExposedPorts(request.tag)).toEqual([3000, 9229]);
        expect(await runtime.imageExposedPorts(withTag(baseImage))).toEqual([]);
        await expect(runtime.imageExposedPorts(`pier-conformance-${run}:missing`)).rejects.toBeInstanceOf(NotFoundError);
      },
      SLOW,
    );

    it(
      'lists the tags of one repository’s local images; a repository with none has []',
      async () => {
        const repository = `pier-conformance-${run}-tags`;
        const { built } = await build(await requestFor(tinyDockerfile, { tag: `${repository}:18` }));
        expect(await runtime.imageTags(repository)).toEqual(['18']);
        // A tag of another repository that shares the name's start is not one of its tags.
        await build(await requestFor(tinyDockerfile, { tag: `${repository}-other:20` }));
        expect(await runtime.imageTags(repository)).toEqual(['18']);
        expect(await runtime.imageTags(`pier-conformance-${run}-none`)).toEqual([]);
        expect(built.tag).toBe(`${repository}:18`);
      },
      SLOW,
    );

    it('reports the free disk space where images are stored', async () => {
      const free = await runtime.freeDiskBytes();
      expect(Number.isSafeInteger(free)).toBe(true);
      expect(free).toBeGreaterThan(0);
    });
  });
}

/** `name` → `name:latest`, as the Engine lists tags. */
function withTag(image: string): string {
  return /:[^/]+$/.test(image) ? image : `${image}:latest`;
}
