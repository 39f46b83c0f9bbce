import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every API token starts with this, so leaked tokens are easy to grep for. */
export const API_TOKEN_PREFIX = 'pier_';

/** A new random token: shown to its owner once, then only its hash is kept. */
export function generateApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Tokens are 256 random bits, so a fast hash is enough: nothing can be
 * brute-forced, and lookups by hash stay one index probe.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares two secrets in time independent of where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
