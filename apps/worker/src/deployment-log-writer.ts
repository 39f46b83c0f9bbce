import type { DeploymentStore, LogLine } from '@pier/db';

export interface LogWriterOptions {
  /** Masks secrets out of each line before it is stored. */
  mask: (text: string) => string;
  flushIntervalMs?: number;
  maxBatch?: number;
  /** How many of the last lines `tail()` keeps, for a failure reason. */
  tailSize?: number;
  /** Called when a batch could not be stored (it is retried on the next flush). */
  onError?: (err: unknown) => void;
}

/**
 * Stores a deployment's output line by line, masked, in small batches so that
 * a follower sees lines within a fraction of a second without one insert per line.
 */
export class DeploymentLogWriter {
  readonly #pending: { stream: LogLine['stream']; line: string }[] = [];
  readonly #tail: string[] = [];
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: DeploymentStore,
    private readonly deploymentId: string,
    private readonly options: LogWriterOptions,
  ) {
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 250);
  }

  write(text: string, stream: LogLine['stream'] = 'stdout'): void {
    for (const raw of text.split(/\r?\n/)) {
      if (raw.trim() === '') continue;
      const line = this.options.mask(raw).slice(0, 8192);
      this.#pending.push({ stream, line });
      this.#tail.push(line);
      if (this.#tail.length > (this.options.tailSize ?? 20)) this.#tail.shift();
    }
    if (this.#pending.length >= (this.options.maxBatch ?? 200)) void this.flush();
  }

  /** The last lines written, masked. */
  tail(): string[] {
    return [...this.#tail];
  }

  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const batch = this.#pending.splice(0);
      if (batch.length === 0) return;
      try {
        await this.store.appendLogs(this.deploymentId, batch);
      } catch (err) {
        this.#pending.unshift(...batch); // kept for the next flush; the build goes on
        this.options.onError?.(err);
      }
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
