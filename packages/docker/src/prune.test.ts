import { ConflictError, type ContainerRuntime, type ImageSummary, ValidationError } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { pruneCandidates, pruneImages } from './prune.ts';

/** An image of `app` (none: unlabelled) created `minute` minutes after a fixed instant. */
function image(id: string, app: string | undefined, minute: number): ImageSummary {
  return {
    imageId: `sha256:${id}`,
    tags: [],
    labels: app ? { 'pier.app': app, 'pier.release': id } : {},
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, minute)),
    sizeBytes: 1,
  };
}

/** An install stage of a generated build of `app`, labelled as the stage labels itself. */
function stage(id: string, app: string, minute: number): ImageSummary {
  return { ...image(id, app, minute), labels: { 'pier.app': app, 'pier.role': 'build-stage' } };
}

const web1 = image('w1', 'web', 1);
const web2 = image('w2', 'web', 2);
const web3 = image('w3', 'web', 3);
const web4 = image('w4', 'web', 4);
const api1 = image('a1', 'api', 1);
const api2 = image('a2', 'api', 2);
const base = image('base', undefined, 0);
const webStage1 = stage('ws1', 'web', 1);
const webStage2 = stage('ws2', 'web', 2);
const webStage3 = stage('ws3', 'web', 3);
const apiStage1 = stage('as1', 'api', 1);

describe('pruneCandidates', () => {
  const cases: { name: string; images: ImageSummary[]; keep: number; inUse?: string[]; expected: ImageSummary[] }[] = [
    { name: 'nothing to prune', images: [web1, web2], keep: 2, expected: [] },
    { name: 'older ones beyond keep', images: [web1, web3, web2, web4], keep: 2, expected: [web2, web1] },
    { name: 'per app', images: [web1, api1, web2, api2, web3], keep: 1, expected: [web2, web1, api1] },
    { name: 'never an unlabelled image', images: [base, web1, web2], keep: 1, expected: [web1] },
    { name: 'never one in use', images: [web1, web2, web3], keep: 1, inUse: ['sha256:w1'], expected: [web2] },
    { name: 'in-use ids without sha256: prefix', images: [web1, web2, web3], keep: 1, inUse: ['w2'], expected: [web1] },
    { name: 'in use among the newest changes nothing', images: [web1, web2], keep: 1, inUse: ['sha256:w2'], expected: [web1] },
    { name: 'empty', images: [], keep: 3, expected: [] },
    {
      name: 'the newest install stage per app is kept, not counted among the images kept',
      images: [webStage1, web1, webStage3, web2, webStage2, apiStage1],
      keep: 2,
      expected: [webStage2, webStage1],
    },
    {
      name: 'install stages and images are each pruned to their own count',
      images: [web1, webStage1, web2, webStage2, web3],
      keep: 1,
      expected: [web2, web1, webStage1],
    },
  ];
  it.each(cases)('$name', ({ images, keep, inUse, expected }) => {
    expect(pruneCandidates(images, keep, inUse)).toEqual(expected);
  });

  it('breaks ties in creation time by id, so the answer is stable', () => {
    const a = image('a', 'web', 5);
    const b = image('b', 'web', 5);
    expect(pruneCandidates([a, b], 1)).toEqual([b]);
    expect(pruneCandidates([b, a], 1)).toEqual([b]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses keep = %s', (keep) => {
    expect(() => pruneCandidates([web1], keep)).toThrow(ValidationError);
  });
});

/** A runtime holding images in memory; removing `refused` fails like an image a stopped container uses. */
function memoryRuntime(images: ImageSummary[], refused: string[] = []): ContainerRuntime & { removed: string[] } {
  const removed: string[] = [];
  return {
    removed,
    buildImage: () => Promise.reject(new Error('not used')),
    listImages: async (labels) =>
      images.filter((candidate) => Object.entries(labels).every(([key, value]) => candidate.labels[key] === value)),
    removeImage: async (imageId) => {
      if (refused.includes(imageId)) throw new ConflictError(`image ${imageId} is used by a container`);
      removed.push(imageId);
    },
    freeDiskBytes: async () => 0,
    imageExposedPorts: () => Promise.reject(new Error('not used')),
    imageTags: async (repository) =>
      images
        .flatMap((i) => i.tags.filter((t) => t.startsWith(`${repository}:`)).map((t) => t.slice(repository.length + 1)))
        .sort(),
    pullImage: () => Promise.reject(new Error('not used')),
    imageDiskBytes: async () => 0,
  };
}

describe('pruneImages', () => {
  it('removes the candidates and reports the refused ones', async () => {
    const runtime = memoryRuntime([web1, web2, web3, api1, api2, base], ['sha256:w1']);
    const result = await pruneImages(runtime, { keep: 1, inUse: ['sha256:a1'] });
    expect(runtime.removed).toEqual(['sha256:w2']);
    expect(result.removed).toEqual([web2]);
    expect(result.skipped).toEqual([{ image: web1, reason: 'image sha256:w1 is used by a container' }]);
  });

  it('only considers images with the given labels', async () => {
    const runtime = memoryRuntime([web1, web2, api1, api2]);
    await pruneImages(runtime, { keep: 1, labels: { 'pier.app': 'api' } });
    expect(runtime.removed).toEqual(['sha256:a1']);
  });
});
