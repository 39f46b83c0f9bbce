import { RateLimitedError } from '@pier/core';

export interface SourceRateLimitOptions {
  /** Requests each source may make per minute, on average. */
  perMinute: number;
  /** Sources remembered at once; the least recently seen is forgotten first. */
  maxSources?: number;
  /** What is counted, for the refusal's message; default "webhook requests". */
  what?: string;
  /** For tests. */
  now?: () => number;
}

/**
 * A token bucket per source address: `perMinute` requests a minute, in
 * bursts of as many. Memory is bounded: past `maxSources` the least recently
 * seen source is forgotten (it starts again with a full bucket).
 */
export class SourceRateLimit {
  readonly #perMs: number;
  readonly #capacity: number;
  readonly #maxSources: number;
  readonly #now: () => number;
  readonly #what: string;
  /** Insertion order is recency order: a source is re-inserted on every request. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: SourceRateLimitOptions) {
    this.#capacity = options.perMinute;
    this.#perMs = options.perMinute / 60_000;
    this.#maxSources = options.maxSources ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#what = options.what ?? 'webhook requests';
  }

  /** Takes one request from `source`'s bucket, or throws RateLimitedError saying when to come back. */
  take(source: string): void {
    const now = this.#now();
    const bucket = this.#buckets.get(source) ?? { tokens: this.#capacity, at: now };
    this.#buckets.delete(source);
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    this.#buckets.set(source, bucket);
    if (this.#buckets.size > this.#maxSources) this.#buckets.delete(this.#buckets.keys().next().value as string);
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
      throw new RateLimitedError(`too many ${this.#what} from ${source}; try again in ${retryAfterSeconds} s`, retryAfterSeconds);
    }
    bucket.tokens -= 1;
  }
}
