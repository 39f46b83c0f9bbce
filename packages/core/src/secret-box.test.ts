import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretDecryptionError } from './errors.ts';
import { keyIdOf, SecretBox } from './secret-box.ts';

describe('SecretBox', () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);

  it('opens what it sealed, and the ciphertext does not contain the plaintext', () => {
    const sealed = box.seal('postgres://u:p@db/x', 'variable:1:DATABASE_URL');
    expect(sealed.keyId).toBe(keyIdOf(key));
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('latin1')).not.toContain('postgres://');
    expect(box.open(sealed, 'variable:1:DATABASE_URL')).toBe('postgres://u:p@db/x');
  });

  it('uses a fresh IV every time', () => {
    expect(box.seal('same', 'c').ciphertext).not.toBe(box.seal('same', 'c').ciphertext);
  });

  it.each([
    ['another context', (s: { keyId: string; ciphertext: string }) => ({ sealed: s, context: 'variable:2:X' })],
    [
      'a flipped byte',
      (s: { keyId: string; ciphertext: string }) => {
        const bytes = Buffer.from(s.ciphertext, 'base64');
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
        return { sealed: { ...s, ciphertext: bytes.toString('base64') }, context: 'variable:1:X' };
      },
    ],
    [
      'a truncated value',
      (s: { keyId: string; ciphertext: string }) => ({ sealed: { ...s, ciphertext: 'AAAA' }, context: 'variable:1:X' }),
    ],
    [
      'an unknown key id',
      (s: { keyId: string; ciphertext: string }) => ({ sealed: { ...s, keyId: 'ffff' }, context: 'variable:1:X' }),
    ],
  ])('refuses %s', (_name, tamper) => {
    const { sealed, context } = tamper(box.seal('secret', 'variable:1:X'));
    expect(() => box.open(sealed, context)).toThrow(SecretDecryptionError);
  });

  it('reads values sealed with a previous key after rotation, and seals with the new one', () => {
    const oldSealed = box.seal('v', 'c');
    const rotated = new SecretBox(randomBytes(32), [key]);
    expect(rotated.open(oldSealed, 'c')).toBe('v');
    expect(rotated.isStale(oldSealed)).toBe(true);
    expect(rotated.isStale(rotated.seal('v', 'c'))).toBe(false);
    expect(() => new SecretBox(randomBytes(32)).open(oldSealed, 'c')).toThrow(SecretDecryptionError);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(RangeError);
  });
});
