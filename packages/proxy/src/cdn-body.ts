import type { ServerResponse } from 'node:http';
import { constants } from 'node:zlib';
import type { Encoder } from './compression.ts';
import type { CacheRecorder } from './edge-cache-recorder.ts';

/**
 * A response body on its way to the client through the CDN role: through an
 * encoder, copied for the cache, or both. Backpressure holds both ways: the
 * upstream is paused (`write` returns false) while the encoder's input is
 * full and resumed on its 'drain'; the encoder's output is paused while the
 * client is backed up and resumed on the client's 'drain'. An encoder error
 * cuts the response off, so the client sees it incomplete.
 */
export class CdnBody {
  readonly #res: ServerResponse;
  readonly #encoder: Encoder | null;
  readonly #recorder: CacheRecorder | null;
  /** Flush after every upstream chunk: for bodies of unknown length, which may be streamed (server-rendered pages sent in parts). */
  readonly #flushKind: number | null;

  constructor(
    res: ServerResponse,
    resume: () => void,
    encoder: Encoder | null,
    recorder: CacheRecorder | null,
    flushEach: 'br' | 'gzip' | null,
  ) {
    this.#res = res;
    this.#encoder = encoder;
    this.#recorder = recorder;
    this.#flushKind =
      flushEach === 'br' ? constants.BROTLI_OPERATION_FLUSH : flushEach === 'gzip' ? constants.Z_SYNC_FLUSH : null;
    if (!encoder) return;
    encoder.on('data', this.#onEncoded);
    encoder.on('drain', resume);
    encoder.once('end', this.#finish);
    encoder.once('error', (error: Error) => {
      this.#recorder?.drop();
      res.destroy(error);
    });
    res.on('drain', () => encoder.resume());
  }

  /** Whether the body goes through an encoder (whose 'drain' then resumes the upstream). */
  get encodes(): boolean {
    return this.#encoder !== null;
  }

  /** Returns false while the upstream should pause. */
  write(chunk: Buffer): boolean {
    if (!this.#encoder) {
      this.#recorder?.add(chunk);
      return this.#res.write(chunk);
    }
    const more = this.#encoder.write(chunk);
    if (this.#flushKind !== null) this.#encoder.flush(this.#flushKind);
    return more;
  }

  end(): void {
    if (this.#encoder) this.#encoder.end();
    else this.#finish();
  }

  /** The exchange broke (either side): nothing is stored, the encoder's memory is released. */
  abort(): void {
    this.#recorder?.drop();
    this.#encoder?.destroy();
  }

  #onEncoded = (out: Buffer): void => {
    this.#recorder?.add(out);
    if (!this.#res.write(out)) this.#encoder?.pause();
  };

  #finish = (): void => {
    this.#recorder?.commit();
    this.#res.end();
  };
}
