import { randomBytes } from 'node:crypto';
import { BuildError, type ContainerRuntime, LABEL_APP, type PullRequest, parseImageReference } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A registry the suite pulls from, holding one image at `reference`, that wants `username`/`password`. */
export interface PullFixture {
  /** `host[:port]` of the registry. */
  host: string;
  username: string;
  password: string;
  /** An image on it (no Pier labels), not present locally, with at least `uniqueBytes` of layers no other image has. */
  reference: string;
  uniqueBytes: number;
  /** An image on it whose ONBUILD triggers would write `/onbuild-ran` in a build FROM it. */
  onBuildReference: string;
  /** True when the runtime holds an image by this name (the pulled reference's own tag). */
  hasLocalName(name: string): Promise<boolean>;
  stop(): Promise<void>;
}

const SLOW = 120_000;

/**
 * The pull half of the ContainerRuntime port's contract (packages/core/src/ports/container-runtime.ts):
 * `pullImage` and `imageDiskBytes`, against a registry that asks for credentials.
 */
export function describeImagePullConformance(
  name: string,
  makeRuntime: () => ContainerRuntime | Promise<ContainerRuntime>,
  makeFixture: () => Promise<PullFixture>,
): void {
  const app = `pier-pull-conformance-${randomBytes(4).toString('hex')}`;
  const labels = { [LABEL_APP]: app, 'pier.test': '1' };
  let runtime: ContainerRuntime;
  let fixture: PullFixture;

  const request = (overrides: Partial<PullRequest> = {}): PullRequest => ({
    reference: fixture.reference,
    auth: { server: fixture.host, username: fixture.username, password: fixture.password },
    tag: `pier/${app}:pulled`,
    labels,
    timeoutMs: 60_000,
    ...overrides,
  });

  async function pullFailure(pull: PullRequest, signal?: AbortSignal): Promise<{ error: BuildError; lines: string[] }> {
    const lines: string[] = [];
    const error = await runtime
      .pullImage(pull, (line) => lines.push(line), signal)
      .then(
        () => new Error('the pull succeeded'),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(BuildError);
    return { error: error as BuildError, lines };
  }

  describe(`ContainerRuntime pull conformance: ${name}`, () => {
    beforeAll(async () => {
      runtime = await makeRuntime();
      fixture = await makeFixture();
    }, SLOW);

    afterAll(async () => {
      if (runtime) for (const image of await runtime.listImages(labels)) await runtime.removeImage(image.imageId);
      await fixture?.stop();
    });

    it('refuses a wrong password, saying so and naming the registry, without the password anywhere', async () => {
      const wrong = `wrong-${randomBytes(6).toString('hex')}`;
      const { error, lines } = await pullFailure(
        request({ auth: { server: fixture.host, username: fixture.username, password: wrong } }),
      );
      expect(error.message).toBe(`pull failed: registry credentials rejected for ${fixture.host}`);
      expect(JSON.stringify([error.message, error.lastLines, lines])).not.toContain(wrong);
      expect(await runtime.listImages(labels)).toEqual([]);
    });

    it('says when the registry wants credentials and none were given', async () => {
      const { error } = await pullFailure(request({ auth: null }));
      expect(error.message).toContain(`${fixture.host} asks for credentials`);
    });

    it('says when the image is not on the registry', async () => {
      const missing = `${fixture.host}/nothing/here:1`;
      const { error } = await pullFailure(request({ reference: missing }));
      expect(error.message).toBe(`pull failed: image ${missing} not found on ${fixture.host}`);
    });

    it('stops at once when the signal is already aborted', async () => {
      const { error } = await pullFailure(request(), AbortSignal.abort());
      expect(error.message).toBe('pull cancelled');
    });

    it(
      'pulls with credentials and keeps the image labelled under its tag, the pulled name gone; removing it frees its layers',
      async () => {
        const lines: string[] = [];
        const pulled = await runtime.pullImage(request(), (line) => lines.push(line));
        expect(pulled).toEqual({
          imageId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
          pulledId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
          tag: `pier/${app}:pulled`,
          digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        });
        expect(pulled.imageId).not.toBe(pulled.pulledId);
        expect(lines.some((line) => line.startsWith('Digest: sha256:'))).toBe(true);
        expect(lines.join('\n')).not.toContain(fixture.password);
        const [image, ...others] = await runtime.listImages(labels);
        expect(others).toEqual([]);
        expect(image).toMatchObject({ imageId: pulled.imageId, tags: [pulled.tag], labels: expect.objectContaining(labels) });
        expect(await fixture.hasLocalName(fixture.reference)).toBe(false);

        const before = await runtime.imageDiskBytes();
        expect(Number.isSafeInteger(before)).toBe(true);
        await runtime.removeImage(pulled.imageId);
        const freed = before - (await runtime.imageDiskBytes());
        expect(freed).toBeGreaterThanOrEqual(fixture.uniqueBytes);
        expect(await runtime.listImages(labels)).toEqual([]);
      },
      SLOW,
    );

    it(
      'pulled by digest: keeps nothing under the digest, so removing the kept image frees its layers',
      async () => {
        const byTag = await runtime.pullImage(request({ tag: `pier/${app}:by-tag` }), () => {});
        await runtime.removeImage(byTag.imageId);
        const { registry, repository } = parseImageReference(fixture.reference);
        const byDigest = `${registry}/${repository}@${byTag.digest}`;
        const pulled = await runtime.pullImage(request({ reference: byDigest, tag: `pier/${app}:by-digest` }), () => {});
        const before = await runtime.imageDiskBytes();
        await runtime.removeImage(pulled.imageId);
        expect(pulled.pulledId).toBe(byTag.pulledId);
        expect(await fixture.hasLocalName(byDigest)).toBe(false);
        expect(before - (await runtime.imageDiskBytes())).toBeGreaterThanOrEqual(fixture.uniqueBytes);
      },
      SLOW,
    );

    it(
      'two pulls of one reference at once each keep their image, and the pulled name still goes',
      async () => {
        // The second starts as the first has kept its image and is about to remove the name its pull made;
        // when the two race, which of them sees that name first varies: a few rounds.
        for (const round of [1, 2, 3]) {
          const first = request({ tag: `pier/${app}:first-${round}` });
          const second = request({ tag: `pier/${app}:second-${round}` });
          let secondPull: Promise<unknown> | undefined;
          await runtime.pullImage(first, (line) => {
            if (line.startsWith('kept as ')) secondPull = runtime.pullImage(second, () => {});
          });
          await secondPull;
          const kept = await runtime.listImages(labels);
          for (const image of kept) await runtime.removeImage(image.imageId);
          expect(kept.flatMap((image) => image.tags).sort()).toEqual([first.tag, second.tag]);
          expect(await fixture.hasLocalName(fixture.reference)).toBe(false);
        }
      },
      SLOW,
    );

    it('refuses an image with ONBUILD triggers, naming them, and keeps nothing of it', async () => {
      const { error, lines } = await pullFailure(request({ reference: fixture.onBuildReference }));
      expect(error.message).toBe(
        `pull failed: ${fixture.onBuildReference} has ONBUILD triggers (ONBUILD RUN), which would run when Pier keeps it; ` +
          'deploy an image built without ONBUILD instructions (an application image, not a base image)',
      );
      expect(lines.at(-1)).toBe(error.message.slice('pull failed: '.length));
      expect(await runtime.listImages(labels)).toEqual([]);
      expect(await fixture.hasLocalName(fixture.onBuildReference)).toBe(false);
    });
  });
}
