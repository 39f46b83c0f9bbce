import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SecretDecryptionError } from './errors.ts';

/** What is stored for an encrypted value: which key sealed it, and the sealed bytes. */
export interface SealedSecret {
  /** Short fingerprint of the key that sealed it; lets old values be found and re-sealed on rotation. */
  keyId: string;
  /** base64 of iv (12 bytes) ‖ auth tag (16 bytes) ‖ ciphertext. */
  ciphertext: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('pier-secret-key-id:').update(key).digest('hex').slice(0, 16);
}

/**
 * AES-256-GCM for values kept at rest (variables, credentials, private keys).
 * `context` is authenticated but not stored: a value sealed for one row
 * (say `variable:<environment id>:<KEY>`) does not open when copied into another.
 * Older keys are accepted for reading so that keys can be rotated.
 */
export class SecretBox {
  readonly currentKeyId: string;
  readonly #keys = new Map<string, Buffer>();

  constructor(currentKey: Buffer, previousKeys: readonly Buffer[] = []) {
    for (const key of [currentKey, ...previousKeys]) {
      if (key.length !== 32) throw new RangeError('secret keys must be 32 bytes');
      this.#keys.set(keyIdOf(key), key);
    }
    this.currentKeyId = keyIdOf(currentKey);
  }

  seal(plaintext: string, context: string): SealedSecret {
    const key = this.#keys.get(this.currentKeyId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]);
    return { keyId: this.currentKeyId, ciphertext: sealed.toString('base64') };
  }

  open(secret: SealedSecret, context: string): string {
    const key = this.#keys.get(secret.keyId);
    if (!key) throw new SecretDecryptionError(`no secret key with id ${secret.keyId} is configured`);
    const sealed = Buffer.from(secret.ciphertext, 'base64');
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptionError('sealed value is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const body = sealed.subarray(IV_BYTES + TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new SecretDecryptionError('sealed value failed authentication', { cause: err });
    }
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  isStale(secret: SealedSecret): boolean {
    return secret.keyId !== this.currentKeyId;
  }
}
