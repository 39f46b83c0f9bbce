import { type BrotliCompress, constants, createBrotliCompress, createGzip, type Gzip } from 'node:zlib';

/** The content codings the edge produces. */
export type Encoding = 'br' | 'gzip';

/**
 * Below this many bytes a body is sent as it is: the gain is a few hundred
 * bytes at most, less than the compressor's own setup cost (a brotli or gzip
 * context is tens of KB of memory) and often smaller than one TCP segment.
 */
export const DEFAULT_MIN_COMPRESS_BYTES = 1024;

/**
 * brotli quality 5 and gzip level 6: on the dashboard's minified HTML/JS/CSS
 * both run at 25-40 MB/s per core, and brotli 5 makes bodies 4 % smaller
 * than gzip 6 (quality 4 would not beat gzip 6 at all); quality 6-9 gains
 * nothing more, 11 gains 8 % at 50 times the CPU (figures in
 * docs/decisions/0001-proxy-data-path.md, "The CDN role").
 */
export const BROTLI_QUALITY = 5;
export const GZIP_LEVEL = 6;

/**
 * Text-like types, which compress well: `text/*` except event streams (each
 * event must reach the client at once, a compressor would hold it), JSON,
 * JavaScript, XML and their `+json`/`+xml` kinds, SVG, WebAssembly (binary,
 * yet typically 60-75 % smaller with brotli) and uncompressed font formats.
 * Images, video, archives and woff/woff2 are compressed already.
 */
const COMPRESSIBLE_TYPE =
  /^\s*(?:text\/(?!event-stream)|application\/(?:json|javascript|ecmascript|x-javascript|xml|wasm|graphql|[\w.-]+\+(?:json|xml))\s*(?:;|$)|image\/svg\+xml|font\/(?:ttf|otf)|[\w.-]+\/[\w.-]+\+(?:json|xml)\s*(?:;|$))/i;

export function isCompressibleType(contentType: string): boolean {
  return COMPRESSIBLE_TYPE.test(contentType);
}

/** Statuses whose bodies are worth compressing: not 204/304 (no body), 206 (a byte range of another representation) or redirects (tiny). */
export function hasCompressibleBody(status: number): boolean {
  if (status >= 400) return true;
  return status >= 200 && status < 300 && status !== 204 && status !== 206;
}

/**
 * Results per distinct Accept-Encoding value: browsers send a handful of
 * exact strings, so parsing happens once per string, not once per request.
 * Bounded: a client sending random values only ever refills it.
 */
const negotiated = new Map<string, Encoding | null>();
const MAX_REMEMBERED = 256;

/**
 * The coding for a response, from the request's Accept-Encoding (RFC 9110
 * §12.5.3): the highest q among br and gzip (`x-gzip` too; `*` stands for any
 * not named), brotli at equal q; none when neither is acceptable (q=0), when
 * `identity` is preferred to both, or when the header is absent (a client
 * that says nothing gets what it surely understands).
 */
export function negotiateEncoding(acceptEncoding: string | undefined): Encoding | null {
  if (acceptEncoding === undefined) return null;
  const known = negotiated.get(acceptEncoding);
  if (known !== undefined) return known;
  const choice = parseAndChoose(acceptEncoding);
  if (negotiated.size >= MAX_REMEMBERED) negotiated.clear();
  negotiated.set(acceptEncoding, choice);
  return choice;
}

function parseAndChoose(header: string): Encoding | null {
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';');
    const coding = name.trim().toLowerCase();
    if (!coding) continue;
    let weight = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
      if (match) weight = Math.min(1, Number(match[1]) || 0);
    }
    const key = coding === 'x-gzip' ? 'gzip' : coding;
    q.set(key, Math.max(weight, q.get(key) ?? 0));
  }
  const any = q.get('*');
  const br = q.get('br') ?? any ?? 0;
  const gzip = q.get('gzip') ?? any ?? 0;
  // Identity is always acceptable, but ranks above a coding only when the client gave it a higher q itself.
  const identity = q.get('identity') ?? any ?? 0;
  const best = Math.max(br, gzip);
  if (best <= 0 || identity > best) return null;
  return br >= gzip ? 'br' : 'gzip';
}

/** Whether a client's Accept-Encoding allows `coding` (a stored body the upstream encoded itself). */
export function acceptsCoding(acceptEncoding: string | undefined, coding: string): boolean {
  if (coding === 'identity') return true;
  if (acceptEncoding === undefined) return false;
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.split(';');
    const token = name.trim().toLowerCase();
    if (token !== coding && token !== '*') continue;
    return !params.some((param) => /^\s*q\s*=\s*0(?:\.0*)?\s*$/i.test(param));
  }
  return false;
}

/** A streaming zlib encoder. */
export type Encoder = Gzip | BrotliCompress;

/** A streaming encoder for `encoding`; `sizeHint` (the body's length, when known) lets brotli size its window. */
export function createEncoder(encoding: Encoding, sizeHint: number): Encoder {
  if (encoding === 'gzip') return createGzip({ level: GZIP_LEVEL });
  return createBrotliCompress({
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      ...(sizeHint > 0 ? { [constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } : {}),
    },
  });
}
