import type { DeploymentStore, LogLine } from '@pier/db';

export interface LogWriterOptions {
  /** Masks secrets out of each line before it is stored. */
  mask: (text: string) => string;
  flushIntervalMs?: number;
  maxBatch?: number;
  /** How many of the last lines `tail()` keeps, for a failure reason. */
  tailSize?: number;
  /**
   * Bytes of output stored at most (PIER_DEPLOYMENT_LOG_MAX_MB); then one line
   * says the output was truncated and later lines are not stored (`tail()` still
   * sees them). Default 5 MiB.
   */
  maxBytes?: number;
  /** Called when a batch could not be stored (it is retried on the next flush). */
  onError?: (err: unknown) => void;
}

/** Longest line stored; the build output comes in lines this long at most already. */
const MAX_LINE_LENGTH = 8192;
export const DEFAULT_LOG_MAX_BYTES = 5 * 1024 * 1024;

/**
 * Stores a deployment's output line by line, masked, in small batches so that
 * a follower sees lines within a fraction of a second without one insert per
 * line; up to a byte budget, so a build printing without end costs neither
 * the database nor the worker's memory more than that.
 */
export class DeploymentLogWriter {
  readonly #pending: { stream: LogLine['stream']; line: string }[] = [];
  readonly #tail: string[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #maxBytes: number;
  #storedBytes = 0;
  #truncated = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    /** Where the lines go: a deployment's log, or (through the same shape) a run's output. */
    private readonly store: Pick<DeploymentStore, 'appendLogs'>,
    private readonly deploymentId: string,
    private readonly options: LogWriterOptions,
  ) {
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 250);
    this.#maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
  }

  write(text: string, stream: LogLine['stream'] = 'stdout'): void {
    for (const raw of text.split(/\r?\n/)) {
      if (raw.trim() === '') continue;
      const line = this.options.mask(raw).slice(0, MAX_LINE_LENGTH);
      this.#store(stream, line);
      this.#tail.push(line);
      if (this.#tail.length > (this.options.tailSize ?? 20)) this.#tail.shift();
    }
    if (this.#pending.length >= (this.options.maxBatch ?? 200)) void this.flush();
  }

  /** Queues the line for storage while the budget lasts; the first line over it is replaced by the truncation notice. */
  #store(stream: LogLine['stream'], line: string): void {
    if (this.#truncated) return;
    const bytes = Buffer.byteLength(line);
    if (this.#storedBytes + bytes <= this.#maxBytes) {
      this.#storedBytes += bytes;
      this.#pending.push({ stream, line });
      return;
    }
    this.#truncated = true;
    this.#pending.push({ stream: 'system', line: truncationNotice(this.#maxBytes) });
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

/** The line stored in place of everything past the budget. */
export function truncationNotice(maxBytes: number): string {
  return `output truncated (more than ${sizeText(maxBytes)} of output; later lines are not stored)`;
}

function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
