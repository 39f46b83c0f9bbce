import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACME_CHALLENGE_PREFIX, isAcmeToken } from '@pier/core';
import { hostFromHeader, requestHost } from '@pier/proxy';

/** Looks up the key authorization published for a token and hostname (null: none). */
export type ChallengeLookup = (token: string, hostname: string) => Promise<string | null>;

/** At most this many lookups at once; beyond it the CA (which retries) gets a 503. */
const MAX_CONCURRENT_LOOKUPS = 16;

/**
 * Answers ACME HTTP-01 challenges on the plain HTTP listener, before any
 * redirect or route: `GET /.well-known/acme-challenge/<token>` returns the
 * key authorization published for that token and Host. Tokens that are not
 * base64url (dots, slashes, escapes, `..`) are refused with 400 before any
 * lookup; unknown ones get 404.
 */
export class AcmeChallengeResponder {
  #inFlight = 0;

  constructor(private readonly lookup: ChallengeLookup) {}

  /** True when `req` is a challenge request (and has been answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0] as string;
    if (!path.startsWith(ACME_CHALLENGE_PREFIX)) return false;
    const token = path.slice(ACME_CHALLENGE_PREFIX.length);
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    if (!isAcmeToken(token)) return answer(res, 400, 'malformed challenge token\n');
    const hostname = hostFromHeader(requestHost(req.headers));
    if (!hostname) return answer(res, 400, 'missing Host header\n');
    if (this.#inFlight >= MAX_CONCURRENT_LOOKUPS) return answer(res, 503, 'busy\n', { 'retry-after': '1' });
    this.#inFlight += 1;
    this.lookup(token, hostname)
      .then((keyAuthorization) => {
        if (keyAuthorization === null) answer(res, 404, 'no such challenge\n');
        else answer(res, 200, req.method === 'HEAD' ? '' : keyAuthorization);
      })
      .catch(() => answer(res, 503, 'challenge store unavailable\n', { 'retry-after': '2' }))
      .finally(() => {
        this.#inFlight -= 1;
      });
    return true;
  }
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): true {
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store', ...headers });
    res.end(body);
  }
  return true;
}
