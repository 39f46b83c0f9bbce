import {
  ConflictError,
  type ContainerRuntime,
  type ImageSummary,
  LABEL_APP,
  LABEL_ROLE,
  ROLE_BUILD_STAGE,
  ValidationError,
} from '@pier/core';

/** Install stages of generated builds (ROLE_BUILD_STAGE) kept per app: the newest, the next build's cache. */
export const BUILD_STAGES_KEPT = 1;

/**
 * The images to delete when keeping the newest `keep` per app (grouped by the
 * `pier.app` label) and its newest install stage (BUILD_STAGES_KEPT), which
 * does not count among the `keep`. Never an image without that label, never
 * one in `inUse` (ids, with or without `sha256:`). Newest first by
 * `createdAt`, ties by id.
 */
export function pruneCandidates(images: readonly ImageSummary[], keep: number, inUse: Iterable<string> = []): ImageSummary[] {
  if (!Number.isInteger(keep) || keep < 1) throw new ValidationError(`keep must be a whole number ≥ 1, not ${keep}`, 'keep');
  const used = new Set([...inUse].map(bareId));
  const candidates: ImageSummary[] = [];
  for (const group of groupByApp(images).values()) {
    const stages = group.filter(isBuildStage);
    const older = [
      ...olderThan(
        keep,
        group.filter((image) => !isBuildStage(image)),
      ),
      ...olderThan(BUILD_STAGES_KEPT, stages),
    ];
    candidates.push(...older.filter((image) => !used.has(bareId(image.imageId))));
  }
  return candidates;
}

export interface PruneOptions {
  /** Newest images kept per app. */
  keep: number;
  /** Image ids a release or a container still refers to: never removed. */
  inUse?: Iterable<string>;
  /** Only images with all of these labels are considered; default all Pier images. */
  labels?: Record<string, string>;
}

export interface PruneResult {
  removed: ImageSummary[];
  /** Candidates the runtime refused to remove (e.g. a stopped container uses them), with why. */
  skipped: { image: ImageSummary; reason: string }[];
}

/** Removes `pruneCandidates` one by one; a refused removal is reported and does not stop the others. */
export async function pruneImages(runtime: ContainerRuntime, options: PruneOptions): Promise<PruneResult> {
  const images = await runtime.listImages(options.labels ?? {});
  const result: PruneResult = { removed: [], skipped: [] };
  for (const image of pruneCandidates(images, options.keep, options.inUse)) {
    try {
      await runtime.removeImage(image.imageId);
      result.removed.push(image);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      result.skipped.push({ image, reason: error.message });
    }
  }
  return result;
}

function groupByApp(images: readonly ImageSummary[]): Map<string, ImageSummary[]> {
  const groups = new Map<string, ImageSummary[]>();
  for (const image of images) {
    const app = image.labels[LABEL_APP];
    if (!app) continue;
    groups.set(app, [...(groups.get(app) ?? []), image]);
  }
  return groups;
}

/** The images after the newest `keep`, newest first. */
function olderThan(keep: number, images: readonly ImageSummary[]): ImageSummary[] {
  return [...images].sort(newestFirst).slice(keep);
}

function isBuildStage(image: ImageSummary): boolean {
  return image.labels[LABEL_ROLE] === ROLE_BUILD_STAGE;
}

function newestFirst(a: ImageSummary, b: ImageSummary): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || a.imageId.localeCompare(b.imageId);
}

function bareId(id: string): string {
  return id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
}
