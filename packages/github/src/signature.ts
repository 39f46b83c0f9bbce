import { createHmac, type Hmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header GitHub signs deliveries with: `sha256=<64 lower-case hex digits>` over the raw request body. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';

const SIGNATURE_PATTERN = /^sha256=([0-9a-fA-F]{64})$/;

function hmac(rawBody: Buffer | string, secret: string): Buffer {
  return createHmac('sha256', secret).update(rawBody).digest();
}

/** The `X-Hub-Signature-256` value GitHub would send for this body. */
export function signPayload(rawBody: Buffer | string, secret: string): string {
  return `sha256=${hmac(rawBody, secret).toString('hex')}`;
}

/**
 * Whether `header` is a valid HMAC-SHA256 of exactly these bytes under `secret`. Never throws: a missing header,
 * a `sha1=` one, malformed hex or an empty secret (anyone could compute that MAC) are all simply `false`.
 * Hex case is not significant; the digests are compared as bytes in constant time.
 */
export function verifySignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (secret.length === 0 || header === undefined) return false;
  const match = SIGNATURE_PATTERN.exec(header);
  if (!match?.[1]) return false;
  const received = Buffer.from(match[1], 'hex');
  const expected = hmac(rawBody, secret);
  if (received.length !== expected.length) return false;
  return timingSafeEqual(received, expected);
}

/** A fresh webhook secret for an app: 32 random bytes as 64 hex characters. */
export function generateWebhookSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Checks a signature against several secrets while the body streams in, so
 * a large body is verified without a second pass: `update` with every chunk
 * in order, then `matches`. Same rules as `verifySignature`.
 */
export class StreamingSignature {
  readonly #received: Buffer | null;
  readonly #macs: Hmac[];

  constructor(header: string | undefined, secrets: readonly string[]) {
    const match = header === undefined ? null : SIGNATURE_PATTERN.exec(header);
    this.#received = match?.[1] ? Buffer.from(match[1], 'hex') : null;
    this.#macs = secrets.filter((secret) => secret.length > 0).map((secret) => createHmac('sha256', secret));
  }

  update(chunk: Buffer): void {
    for (const mac of this.#macs) mac.update(chunk);
  }

  /** True when one of the secrets signed exactly the bytes given. Call once, after the last chunk. */
  matches(): boolean {
    const received = this.#received;
    if (received === null) return false;
    return this.#macs.some((mac) => timingSafeEqual(received, mac.digest()));
  }
}
