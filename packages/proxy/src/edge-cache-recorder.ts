import type { CachedEnvironment, CachedResponse, EdgeCache } from './edge-cache.ts';

/**
 * Copies a response's body, as it goes to the client, for the edge cache.
 * Once the body passes the entry limit it stops copying and lets go of what
 * it had (the client's response goes on unharmed); only `commit`, called
 * when the response ended cleanly, stores anything, so a response cut off by
 * either side leaves nothing half-stored.
 */
export class CacheRecorder {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #dropped = false;
  readonly #cache: EdgeCache;
  readonly #env: CachedEnvironment;
  /** The environment's generation when the response started: a deploy in between means it is not stored. */
  readonly #generation: number;

  constructor(
    cache: EdgeCache,
    env: CachedEnvironment,
    private readonly host: string,
    private readonly url: string,
    private readonly response: Omit<CachedResponse, 'body'>,
  ) {
    this.#cache = cache;
    this.#env = env;
    this.#generation = env.generation;
  }

  add(chunk: Buffer): void {
    if (this.#dropped) return;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#cache.maxEntryBytes) this.drop();
    else this.#chunks.push(chunk);
  }

  /** Stores the body copied so far as the complete response; returns whether it was stored. */
  commit(): boolean {
    if (this.#dropped) return false;
    const body = Buffer.concat(this.#chunks, this.#bytes);
    this.drop();
    return this.#cache.store(this.#env, this.#generation, this.host, this.url, { ...this.response, body });
  }

  drop(): void {
    this.#dropped = true;
    this.#chunks = [];
  }
}
