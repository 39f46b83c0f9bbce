/** An answer the proxy gives itself, when it cannot or may not forward. */
export interface ProxyErrorKind {
  status: number;
  code: string;
  message: string;
  /** Sent as Retry-After: when the client may try again. */
  retryAfterSeconds?: number;
}

export const UNKNOWN_HOST: ProxyErrorKind = { status: 404, code: 'not_found', message: 'No app is served at this address.' };
export const NO_HEALTHY_UPSTREAM: ProxyErrorKind = {
  status: 503,
  code: 'no_healthy_upstream',
  message: 'The app has no healthy instance right now. Try again shortly.',
};
export const UPSTREAM_TIMEOUT: ProxyErrorKind = {
  status: 504,
  code: 'upstream_timeout',
  message: 'The app did not answer in time.',
};
/** A request held while the app's replicas were swapped, for longer than the hold allows (or beyond its queue). */
export const NO_UPSTREAM_YET: ProxyErrorKind = {
  status: 503,
  code: 'no_upstream',
  message: 'The app is restarting and is not answering yet. Try again shortly.',
  retryAfterSeconds: 5,
};
export const BAD_GATEWAY: ProxyErrorKind = { status: 502, code: 'bad_gateway', message: 'The app could not be reached.' };

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const REASONS: Record<number, string> = {
  404: 'Not Found',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The page for `kind`: JSON `{ error: { code, message } }` when Accept prefers JSON, else a small HTML page. */
export function errorResponse(kind: ProxyErrorKind, accept: string | undefined, requestId: string): ErrorResponse {
  const json = prefersJson(accept);
  const body = json ? JSON.stringify({ error: { code: kind.code, message: kind.message } }) : errorHtml(kind, requestId);
  return {
    status: kind.status,
    headers: {
      'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-request-id': requestId,
      ...(kind.retryAfterSeconds === undefined ? {} : { 'retry-after': String(kind.retryAfterSeconds) }),
    },
    body,
  };
}

/** The same answer as raw HTTP/1.1 bytes, for a socket that asked to upgrade. */
export function rawErrorResponse(kind: ProxyErrorKind, accept: string | undefined, requestId: string): string {
  const { status, headers, body } = errorResponse(kind, accept, requestId);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`, ...lines, 'connection: close', '', body].join('\r\n');
}

function errorHtml(kind: ProxyErrorKind, requestId: string): string {
  const title = `${kind.status} ${REASONS[kind.status] ?? 'Error'}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px system-ui,sans-serif;margin:15vh auto;max-width:32rem;color:#222}small{color:#777}</style></head>
<body><h1>${title}</h1><p>${kind.message}</p><p><small>request ${escapeHtml(requestId)} · pier</small></p></body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * True when the Accept header ranks application/json above text/html: a higher
 * q, or the same q from a more specific range (JSON named, HTML only through a wildcard).
 * Ties go to HTML.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(',').map(parseRange);
  const json = match(ranges, 'application', 'json');
  const html = match(ranges, 'text', 'html');
  return json.q > html.q || (json.q === html.q && json.q > 0 && json.specificity > html.specificity);
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseRange(part: string): MediaRange {
  const [media = '', ...params] = part.trim().toLowerCase().split(';');
  const [type = '', subtype = ''] = media.trim().split('/');
  const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
  const q = qParam ? Number(qParam.slice(2)) : 1;
  return { type, subtype: subtype.endsWith('+json') ? 'json' : subtype, q: Number.isFinite(q) ? q : 0 };
}

/** q of the most specific range matching type/subtype (0 when none does), and how specific it was. */
function match(ranges: MediaRange[], type: string, subtype: string): { q: number; specificity: number } {
  let best = { q: 0, specificity: -1 };
  for (const range of ranges) {
    const specificity =
      range.type === type && range.subtype === subtype
        ? 2
        : range.type === type && range.subtype === '*'
          ? 1
          : range.type === '*'
            ? 0
            : -1;
    if (specificity > best.specificity) best = { q: range.q, specificity };
  }
  return best;
}
