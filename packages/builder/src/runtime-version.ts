import { majorsInRange } from './version-range.ts';

/** The base image a generated build uses, and why, for the build log. */
export interface ImageChoice {
  image: string;
  notes: string[];
}

/** A version the repository asks for, and the file (and field) that asks. */
export interface VersionRequest {
  /** What the file says, e.g. `>=18 <21`, `20`, `3.11.4`. */
  asked: string;
  /** e.g. `package.json engines.node`, `.nvmrc`, `runtime.txt`. */
  source: string;
}

/**
 * The repository of an image reference without a tag or digest
 * (`pier-local/node` → itself), whose version tags (`pier-local/node:20`)
 * Pier chooses from; undefined for a pinned reference (`node:20-slim`, `x@sha256:…`).
 */
export function versionedRepository(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? undefined : image;
}

/**
 * The Node image for `request`: `<image>:<major>` for the highest major the
 * request admits among the `offered` tags (the local image's, made by
 * scripts/base-images.sh), else the configured image with a warning.
 */
export function chooseNodeImage(image: string, request: VersionRequest | undefined, offered: readonly string[]): ImageChoice {
  if (request === undefined) return { image, notes: [] };
  if (versionedRepository(image) === undefined) return pinned(image, request);
  const majors = offered.filter((tag) => /^\d+$/.test(tag)).map(Number);
  const asked = request.source === 'package.json engines.node' ? request.asked : nodeMajorOf(request.asked);
  const admitted = asked === undefined ? null : majorsInRange(asked, majors);
  if (admitted === null)
    return fallback(image, `${request.source} says "${request.asked}", which is not a Node version Pier understands`);
  const [major] = admitted;
  if (major === undefined) return unavailable(image, `Node ${request.asked}`, request.source, majors.map(String));
  return chosen(`${image}:${major}`, `Node ${major}`, request);
}

/** The Python image for `request`: `<image>:<major.minor>` when offered, else the configured image with a warning. */
export function choosePythonImage(image: string, request: VersionRequest | undefined, offered: readonly string[]): ImageChoice {
  if (request === undefined) return { image, notes: [] };
  if (versionedRepository(image) === undefined) return pinned(image, request);
  const version = /^(?:python-)?(\d+\.\d+)(?:\.\d+)?\s*$/.exec(request.asked)?.[1];
  if (version === undefined)
    return fallback(image, `${request.source} says "${request.asked}", which is not a Python version Pier understands`);
  const versions = offered.filter((tag) => /^\d+\.\d+$/.test(tag));
  if (!versions.includes(version)) return unavailable(image, `Python ${version}`, request.source, versions);
  return chosen(`${image}:${version}`, `Python ${version}`, request);
}

/** `.nvmrc` / `.node-version` text (`v20.11.0`, `20`, `18.x`) as a range of its major; undefined for `lts/*`, `node` and the like. */
function nodeMajorOf(text: string): string | undefined {
  return /^v?(\d+)(?:\.[\dxX*]+){0,2}$/.exec(text)?.[1];
}

function chosen(image: string, what: string, request: VersionRequest): ImageChoice {
  return { image, notes: [`${what} (${request.source}: "${request.asked}"): building FROM ${image}`] };
}

function pinned(image: string, request: VersionRequest): ImageChoice {
  return {
    image,
    notes: [`${request.source} says "${request.asked}"; the configured image ${image} names its tag, so it is used as it is`],
  };
}

function unavailable(image: string, what: string, source: string, offered: string[]): ImageChoice {
  const tags = offered.length === 0 ? 'no version tags' : `only ${offered.map((tag) => `${image}:${tag}`).join(', ')}`;
  return fallback(
    image,
    `${source} asks for ${what}, but the configured images offer ${tags} (scripts/base-images.sh makes them)`,
  );
}

function fallback(image: string, why: string): ImageChoice {
  return { image, notes: [`warning: ${why}: building FROM ${image} instead`] };
}
