import { ValidationError } from './errors.ts';

/**
 * An image built elsewhere, as `POST …/deployments { image }` names it:
 * `[registry/]name[:tag][@sha256:<64 hex>]`, the grammar of Docker's
 * `distribution/reference` narrowed to what a deploy needs (no IPv6 registry,
 * sha256 digests only). The first component is the registry when it holds a
 * `.` or a `:` or is `localhost`, as Docker reads it; otherwise the image is on
 * Docker Hub (`docker.io`, one-component names under `library/`).
 */
export interface ImageReference {
  /** `host[:port]` of the registry, lower-case; `docker.io` for Docker Hub. */
  registry: string;
  /** The repository inside the registry, e.g. `acme/web`, `library/nginx`. */
  repository: string;
  /** Null when the reference gives none (and no digest): `latest` is pulled. */
  tag: string | null;
  /** `sha256:…` when the reference pins one; it wins over the tag. */
  digest: string | null;
}

const MAX_NAME_LENGTH = 255;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOCKER_HUB = 'docker.io';

/** Why `text` is no image reference Pier deploys, naming the part at fault; null when it is one. */
export function imageReferenceProblem(text: string): string | null {
  try {
    parseImageReference(text);
    return null;
  } catch (error) {
    if (error instanceof ValidationError) return error.message.replace(/^image: /, '');
    throw error;
  }
}

/** Parses a reference; a ValidationError on field `image` says what is wrong with it. */
export function parseImageReference(text: string): ImageReference {
  const fail = (problem: string): never => {
    throw new ValidationError(`image: ${problem}`, 'image');
  };
  if (text.length === 0) fail('must not be empty');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\s\u0000-\u001f\u007f]/.test(text)) fail('must not contain whitespace or control characters');
  const at = text.indexOf('@');
  const digest = at === -1 ? null : text.slice(at + 1);
  const named = at === -1 ? text : text.slice(0, at);
  if (digest !== null && !DIGEST.test(digest)) fail(`digest ${show(digest)} must be sha256: and 64 lower-case hex digits`);
  const lastSlash = named.lastIndexOf('/');
  const colon = named.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? named : named.slice(0, colon);
  const tag = colon === -1 ? null : named.slice(colon + 1);
  if (tag !== null && !TAG.test(tag)) fail(`tag ${show(tag)} must be 1–128 letters, digits, _ . or - (not starting with . or -)`);
  if (name.length === 0) fail('must name an image, e.g. ghcr.io/acme/web:1.4');
  if (name.length > MAX_NAME_LENGTH) fail(`the name must be at most ${MAX_NAME_LENGTH} characters`);
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry && !DOMAIN.test(first)) fail(`registry ${show(first)} must be a host name or address, with an optional :port`);
  const path = hasRegistry ? parts.slice(1) : parts;
  for (const component of path) {
    if (!PATH_COMPONENT.test(component)) {
      fail(`name component ${show(component)} must be lower-case letters and digits, separated by . _ __ or -`);
    }
  }
  const registry = hasRegistry ? first.toLowerCase() : DOCKER_HUB;
  const repository = registry === DOCKER_HUB && path.length === 1 ? `library/${path[0]}` : path.join('/');
  return { registry, repository, tag, digest };
}

/** What the Engine is asked to pull: `fromImage` and `tag` (the digest when pinned, else the tag, else `latest`). */
export function pullArguments(reference: ImageReference): { fromImage: string; tag: string } {
  return { fromImage: `${reference.registry}/${reference.repository}`, tag: reference.digest ?? reference.tag ?? 'latest' };
}

/**
 * A registry server as an operator types it (`ghcr.io`, `https://ghcr.io/`,
 * `https://index.docker.io/v1/`, `127.0.0.1:5000`) → the `host[:port]` a
 * reference names (`docker.io` for Docker Hub's aliases); null when it is no
 * server at all. Registry credentials are sent only to their own server.
 */
export function registryServer(text: string): string | null {
  const bare = text
    .trim()
    .replace(/^https?:\/\//i, '')
    .replace(/\/(?:v1|v2)?\/?$/i, '')
    .toLowerCase();
  if (!DOMAIN.test(bare)) return null;
  return HUB_ALIASES.has(bare) ? DOCKER_HUB : bare;
}

const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

function show(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}
