import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exampleBody, examplePayload } from './example-payloads.ts';
import { generateWebhookSecret, StreamingSignature, signPayload, verifySignature } from './signature.ts';

const SECRET = 'an-app-webhook-secret';
const body = exampleBody(examplePayload('pushBranch'));
const valid = signPayload(body, SECRET);

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

describe('signPayload', () => {
  it('matches the example in GitHub’s documentation', () => {
    expect(signPayload(Buffer.from('Hello, World!'), "It's a Secret to Everybody")).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });

  it('signs a string like its UTF-8 bytes', () => {
    expect(signPayload('{"ü":1}', SECRET)).toBe(signPayload(Buffer.from('{"ü":1}', 'utf8'), SECRET));
  });
});

describe('verifySignature', () => {
  const sha1Only = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
  const hex = valid.slice('sha256='.length);

  it.each<[string, Buffer, string | undefined, string, boolean]>([
    ['a valid signature', body, valid, SECRET, true],
    ['upper-case hex (same bytes)', body, `sha256=${hex.toUpperCase()}`, SECRET, true],
    ['the wrong secret', body, valid, 'another-secret', false],
    ['a body with its last byte changed', flipByte(body, body.length - 1), valid, SECRET, false],
    ['a body with a middle byte changed', flipByte(body, body.length >> 1), valid, SECRET, false],
    ['a body with a byte appended', Buffer.concat([body, Buffer.from(' ')]), valid, SECRET, false],
    ['a sha1= header only', body, sha1Only, SECRET, false],
    ['no header', body, undefined, SECRET, false],
    ['an empty header', body, '', SECRET, false],
    ['sha256= with nothing after it', body, 'sha256=', SECRET, false],
    ['hex one digit short', body, valid.slice(0, -1), SECRET, false],
    ['hex one digit long', body, `${valid}0`, SECRET, false],
    ['non-hex digits', body, `sha256=${'zz'.repeat(32)}`, SECRET, false],
    ['a 16-byte digest', body, `sha256=${hex.slice(0, 32)}`, SECRET, false],
    ['an upper-case algorithm name', body, `SHA256=${hex}`, SECRET, false],
    ['surrounding whitespace', body, ` ${valid} `, SECRET, false],
    ['two signatures in one header', body, `${valid},${sha1Only}`, SECRET, false],
    ['the bare hex without prefix', body, hex, SECRET, false],
    ['an empty body, signed', Buffer.alloc(0), signPayload(Buffer.alloc(0), SECRET), SECRET, true],
    ['an empty body with another body’s signature', Buffer.alloc(0), valid, SECRET, false],
    ['an empty secret, even when the MAC matches', body, signPayload(body, ''), '', false],
  ])('%s → %s', (_case, rawBody, header, secret, expected) => {
    expect(verifySignature(rawBody, header, secret)).toBe(expected);
  });
});

describe('generateWebhookSecret', () => {
  it('returns 32 random bytes as hex', () => {
    const first = generateWebhookSecret();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(generateWebhookSecret()).not.toBe(first);
  });
});

describe('StreamingSignature', () => {
  const body = Buffer.from('{"zen":"Keep it logically awesome."}');

  it('matches when any secret signed the chunks, in any chunking', () => {
    const header = signPayload(body, 'second');
    const signature = new StreamingSignature(header, ['first', 'second']);
    signature.update(body.subarray(0, 5));
    signature.update(body.subarray(5));
    expect(signature.matches()).toBe(true);
  });

  it.each([
    ['another secret', signPayload(body, 'other'), ['first']],
    ['no secrets', signPayload(body, 'first'), []],
    ['an empty secret', signPayload(body, ''), ['']],
    ['a sha1 header', 'sha1=0123', ['first']],
    ['no header', undefined, ['first']],
  ])('does not match with %s', (_, header, secrets) => {
    const signature = new StreamingSignature(header, secrets);
    signature.update(body);
    expect(signature.matches()).toBe(false);
  });
});
