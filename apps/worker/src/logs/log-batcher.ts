import type { LogCursor, LogStore, NewLogLine } from '@pier/db';

export interface LogBatcherOptions {
  store: Pick<LogStore, 'append'>;
  /** A batch is written once it holds this many lines… */
  batchLines: number;
  /** …or this long after its first line. */
  flushMs: number;
  /** After a write failed (Postgres away), the next try waits this long; the lines are kept meanwhile. */
  retryMs?: number;
  onError: (err: unknown) => void;
  /**
   * Whether a failed write is refused for what the batch holds (the same
   * batch would fail again): such a batch is dropped after `onDropped`
   * instead of retried, so it never holds every follower back.
   */
  isRejected?: (err: unknown) => boolean;
  onDropped?: (err: unknown, lines: number) => void;
}

/**
 * Gathers the lines of every followed container into batches for
 * `LogStore.append`, with each container's cursor. Writes are serial, so ids
 * follow the order lines were added. `add` resolves once the line is taken:
 * while a full batch waits to be written, it waits too, so a container that
 * writes faster than Postgres stores holds its stream (the socket is not
 * read), never the worker's memory: at most one batch is held and one is
 * being written.
 */
export class LogBatcher {
  #lines: NewLogLine[] = [];
  #cursors = new Map<string, LogCursor>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(private readonly options: LogBatcherOptions) {}

  /** Lines and cursor updates waiting to be written. */
  get pending(): number {
    return this.#lines.length + this.#cursors.size;
  }

  /** Takes a line: at once (undefined) while the batch has room, else a promise of the room (await it). */
  add(line: NewLogLine, cursor: LogCursor): Promise<void> | undefined {
    if (this.#lines.length >= this.options.batchLines && !this.#stopped) return this.#addWhenRoom(line, cursor);
    this.#lines.push(line);
    this.#cursors.set(cursor.containerId, cursor);
    if (this.#lines.length >= this.options.batchLines) return this.flush();
    this.#schedule();
    return undefined;
  }

  async #addWhenRoom(line: NewLogLine, cursor: LogCursor): Promise<void> {
    while (this.#lines.length >= this.options.batchLines && !this.#stopped) await this.flush();
    await this.add(line, cursor);
  }

  /** A cursor change with no line (a container read to its end), written with the next batch. */
  mark(cursor: LogCursor): void {
    const known = this.#cursors.get(cursor.containerId);
    this.#cursors.set(cursor.containerId, { ...cursor, since: cursor.since ?? known?.since ?? null });
    this.#schedule();
  }

  /** Writes what is gathered (after any write under way); resolves when it is stored or the try failed. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  /** Writes what is left, once more if a try fails; later lines are refused. */
  async stop(): Promise<void> {
    await this.flush();
    if (this.pending > 0) await this.flush();
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => void this.flush(), this.options.flushMs);
  }

  async #write(): Promise<void> {
    if (this.pending === 0) return;
    const lines = this.#lines;
    const cursors = this.#cursors;
    this.#lines = [];
    this.#cursors = new Map();
    try {
      await this.options.store.append(lines, [...cursors.values()]);
    } catch (err) {
      if (this.options.isRejected?.(err)) {
        this.options.onDropped?.(err, lines.length);
        return;
      }
      this.options.onError(err);
      // Put back in front of what came meanwhile (order kept; a newer cursor of a container wins).
      this.#lines = [...lines, ...this.#lines];
      for (const [id, cursor] of this.#cursors) cursors.set(id, cursor);
      this.#cursors = cursors;
      await new Promise((resolve) => setTimeout(resolve, this.options.retryMs ?? 1000));
      this.#schedule();
    }
  }
}
