/**
 * Where the headers the CDN role looks at sit in a flat `[name, value, …]`
 * response header list (as `clientResponseHeaders` builds it): value
 * indices, -1 when absent. One instance is reused for every response: the
 * scan runs synchronously in `onHeaders`, so reuse is safe and the path that
 * neither compresses nor caches allocates nothing.
 */
export class ResponseHeaderScan {
  contentType = -1;
  contentEncoding = -1;
  contentLength = -1;
  cacheControl = -1;
  vary = -1;
  etag = -1;
  age = -1;
  setCookie = false;
  /**
   * Cache-Control or Vary came on more than one line. They are lists whose
   * lines combine (RFC 9110 §5.3); the cache reads one line, so it stores
   * nothing then rather than miss a `private` or a `Vary: Cookie`.
   */
  listRepeated = false;

  /** Fills the indices from `flat`. Another header sent twice keeps its last index (duplicates of those are malformed). */
  scan(flat: readonly string[]): this {
    this.contentType = this.contentEncoding = this.contentLength = this.cacheControl = -1;
    this.vary = this.etag = this.age = -1;
    this.setCookie = this.listRepeated = false;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i] as string;
      // Lengths first: most names are skipped after one comparison.
      switch (name.length) {
        case 12:
          if (isName(name, 'content-type')) this.contentType = i + 1;
          break;
        case 16:
          if (isName(name, 'content-encoding')) this.contentEncoding = i + 1;
          break;
        case 14:
          if (isName(name, 'content-length')) this.contentLength = i + 1;
          break;
        case 13:
          if (isName(name, 'cache-control')) {
            if (this.cacheControl !== -1) this.listRepeated = true;
            this.cacheControl = i + 1;
          }
          break;
        case 4:
          if (isName(name, 'vary')) {
            if (this.vary !== -1) this.listRepeated = true;
            this.vary = i + 1;
          } else if (isName(name, 'etag')) this.etag = i + 1;
          break;
        case 3:
          if (isName(name, 'age')) this.age = i + 1;
          break;
        case 10:
          if (isName(name, 'set-cookie')) this.setCookie = true;
      }
    }
    return this;
  }
}

/**
 * Whether a header name is `lower` in any case, without lower-casing it
 * (which allocates for names sent capitalised, as most frameworks do).
 * Setting bit 0x20 lower-cases ASCII letters and leaves '-' as it is; only a
 * CR could pass for '-', and header names never hold one.
 */
function isName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** The value at `index` in a flat list, or undefined for -1. */
export function valueAt(flat: readonly string[], index: number): string | undefined {
  return index < 0 ? undefined : flat[index];
}

/** Whether a comma-separated header value lists `token` (case-insensitive; parameters ignored). */
export function listsToken(value: string | undefined, token: string): boolean {
  if (!value) return false;
  for (const part of value.split(',')) {
    const name = part.split('=')[0]?.trim().toLowerCase();
    if (name === token) return true;
  }
  return false;
}

/** `Vary` with `name` added (kept as it is when it lists it already or is `*`). */
export function varyWith(vary: string | undefined, name: string): string {
  if (!vary?.trim()) return name;
  if (vary.trim() === '*' || listsToken(vary, name.toLowerCase())) return vary;
  return `${vary}, ${name}`;
}

/** Sets `name: value` in a flat list: replaces the value at `index` or appends the pair. */
export function setHeader(flat: string[], index: number, name: string, value: string): void {
  if (index >= 0) flat[index] = value;
  else flat.push(name, value);
}

/**
 * Marks `flat` as negotiated on Accept-Encoding and, when `coding` is set,
 * as that coding's representation: `Content-Encoding` set, `Content-Length`
 * removed (the length changes; the body goes chunked), a strong `ETag` made
 * weak (the bytes differ from the upstream's representation). The indices
 * come from `scan` of this list; they are stale afterwards.
 */
export function markEncoded(flat: string[], scan: ResponseHeaderScan, coding: string | null): void {
  setHeader(flat, scan.vary, 'vary', varyWith(valueAt(flat, scan.vary), 'Accept-Encoding'));
  if (coding === null) return;
  const etag = valueAt(flat, scan.etag);
  if (etag !== undefined && !etag.startsWith('W/')) flat[scan.etag] = `W/${etag}`;
  setHeader(flat, scan.contentEncoding, 'content-encoding', coding);
  // The length changes, and byte ranges of the identity body do not apply to the encoded one
  // (a client resuming with Range would splice identity bytes into encoded ones): both go.
  for (let i = flat.length - 2; i >= 0; i -= 2) {
    const name = flat[i] as string;
    if (isName(name, 'content-length') || isName(name, 'accept-ranges')) flat.splice(i, 2);
  }
}
