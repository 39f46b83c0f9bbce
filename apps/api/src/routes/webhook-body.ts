import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError, RateLimitedError, UnauthorizedError } from '@pier/core';
import { StreamingSignature } from '@pier/github';

export interface WebhookBodyLimits {
  /** Read from anyone before a signature is checked. */
  unsigned: number;
  /** Read only while the body verifies as it streams, against the secrets of the hook target it names. */
  signed: number;
}

export interface WebhookBodyRequest {
  body: IncomingMessage;
  /** `X-Hub-Signature-256` as sent. */
  signature: string;
  limits: WebhookBodyLimits;
  /**
   * The webhook secrets of the apps whose last verified delivery came from
   * the hook target this request names (`X-GitHub-Hook-Installation-Target-ID`);
   * empty when it names none or an unknown one.
   */
  targetSecrets(): Promise<string[]>;
  /** Bodies over the unsigned limit being read at once (across requests): one more is refused past its `max`. */
  largeReads: LargeReads;
}

/**
 * How many bodies over the unsigned limit are being read at once. A known
 * hook target's id is no secret (a public repository's id), so a body that
 * names it is still unverified until its end: the count bounds the memory
 * such bodies can hold together to `max` × the signed limit.
 */
export class LargeReads {
  #inFlight = 0;

  constructor(readonly max: number) {}

  /** Takes a slot, or returns false when all are taken. */
  take(): boolean {
    if (this.#inFlight >= this.max) return false;
    this.#inFlight += 1;
    return true;
  }

  release(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }
}

/**
 * Reads a webhook body cheaply for whoever sends it: up to `limits.unsigned`
 * bytes from anyone. Past that (announced by Content-Length or reached while
 * streaming) the body is read on only for a known hook target, while one of
 * `largeReads`' few slots is free, checked against its apps' secrets chunk
 * by chunk, and refused as soon as it passes `limits.signed`; a large body no
 * secret signed is refused at its end. So a forged body that names no known
 * target costs at most `limits.unsigned` bytes, and all the large ones
 * together at most `largeReads.max` × `limits.signed`.
 */
export function readWebhookBody(request: WebhookBodyRequest): Promise<Buffer> {
  const { body, limits } = request;
  const declared = Number(body.headers['content-length'] ?? Number.NaN);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let signature: StreamingSignature | null = null;
    let pendingCheck: Promise<void> | null = null;
    let holdsSlot = false;
    const releaseSlot = () => {
      if (holdsSlot) request.largeReads.release();
      holdsSlot = false;
    };
    const stop = (err: Error) => {
      body.off('data', onData).off('end', onEnd).off('error', stop);
      body.pause();
      releaseSlot();
      reject(err);
    };
    const startSigned = (): Promise<void> => {
      pendingCheck ??= request.targetSecrets().then((secrets) => {
        if (secrets.length === 0) throw tooLargeUnsigned(limits);
        if (!request.largeReads.take()) {
          throw new RateLimitedError('body: too many large webhook bodies are being read at once; try again', 5);
        }
        holdsSlot = true;
        signature = new StreamingSignature(request.signature, secrets);
        for (const chunk of chunks) signature.update(chunk);
      });
      return pendingCheck;
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.signed) return stop(tooLarge(limits));
      chunks.push(chunk);
      if (signature) return signature.update(chunk);
      if (received > limits.unsigned) {
        body.pause();
        startSigned().then(() => body.resume(), stop);
      }
    };
    const onEnd = () => {
      const finish = () => {
        releaseSlot();
        if (signature && !signature.matches()) {
          return reject(
            new UnauthorizedError('x-hub-signature-256: the signature does not match the webhook secret of an app for this hook'),
          );
        }
        resolve(Buffer.concat(chunks, received));
      };
      if (pendingCheck && !signature) pendingCheck.then(finish, () => {});
      else finish();
    };
    if (declared > limits.signed) return reject(tooLarge(limits));
    const attach = () => body.on('data', onData).on('end', onEnd).on('error', stop);
    if (declared > limits.unsigned) startSigned().then(attach, reject);
    else attach();
  });
}

function tooLarge(limits: WebhookBodyLimits): PayloadTooLargeError {
  return new PayloadTooLargeError(`body: a webhook body may be at most ${limits.signed} bytes`);
}

function tooLargeUnsigned(limits: WebhookBodyLimits): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `body: a webhook body over ${limits.unsigned} bytes is read only from a hook that has delivered a verified webhook before (X-GitHub-Hook-Installation-Target-ID); send the ping first`,
  );
}
