import type { LogEntry } from '@pier/core';

/** Size of the header before each frame of a multiplexed stream: stream type, 3 zero bytes, payload length (big-endian). */
const HEADER_BYTES = 8;
const STREAMS: Record<number, LogEntry['stream']> = { 0: 'stdout', 1: 'stdout', 2: 'stderr' };
/** `2024-05-01T10:00:00.123456789Z ` at the start of each message when logs are asked for with `timestamps`. */
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;
/** Longest timestamp prefix, to look at no more of a frame than that. */
const TIMESTAMP_MAX_BYTES = 40;
const NEWLINE = 0x0a;

/**
 * Turns the Engine's multiplexed log stream (`GET /containers/{id}/logs` of a
 * container without a TTY) into lines: frames may arrive split across chunks,
 * a long line arrives as several frames (the Engine cuts messages at 16 KiB),
 * and each message starts with its timestamp, which becomes `at` (the first
 * one of a line). A stream that does not start with a valid header (a TTY
 * container's) is read as plain stdout.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private raw = false;
  private readonly lines: Record<LogEntry['stream'], LineBuilder>;

  constructor(options: DemuxOptions = {}) {
    this.lines = { stdout: new LineBuilder('stdout', options), stderr: new LineBuilder('stderr', options) };
  }

  /** The lines completed by this chunk. */
  push(chunk: Buffer): LogEntry[] {
    if (this.raw) return this.lines.stdout.push(chunk);
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const entries: LogEntry[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const stream = frameStream(this.pending);
      if (!stream) return this.switchToRaw(entries);
      const end = HEADER_BYTES + this.pending.readUInt32BE(4);
      if (this.pending.length < end) break;
      entries.push(...this.lines[stream].push(this.pending.subarray(HEADER_BYTES, end)));
      this.pending = this.pending.subarray(end);
    }
    return entries;
  }

  /** The stream ended: what remains of unfinished lines, stdout first. */
  end(): LogEntry[] {
    const rest = this.raw || this.pending.length === 0 ? [] : this.lines.stdout.push(this.pending);
    this.pending = Buffer.alloc(0);
    return [...rest, ...this.lines.stdout.end(), ...this.lines.stderr.end()];
  }

  private switchToRaw(entries: LogEntry[]): LogEntry[] {
    this.raw = true;
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return [...entries, ...this.lines.stdout.push(rest)];
  }
}

function frameStream(buffer: Buffer): LogEntry['stream'] | undefined {
  const stream = STREAMS[buffer.readUInt8(0)];
  return stream && buffer.readUInt8(1) === 0 && buffer.readUInt8(2) === 0 && buffer.readUInt8(3) === 0 ? stream : undefined;
}

export interface DemuxOptions {
  /** Each entry also carries `time`, the engine's timestamp as written (nanoseconds). */
  times?: boolean;
  /** Bytes of a line kept; the rest is counted, never held, and a marker says how much was cut. */
  maxLineBytes?: number;
}

/** The lines of one stream, assembled from the payloads of its frames. */
class LineBuilder {
  private parts: Buffer[] = [];
  private at: Date | null = null;
  private time: string | undefined;
  /** Bytes of the line so far (kept or cut). */
  private bytes = 0;

  constructor(
    private readonly stream: LogEntry['stream'],
    private readonly options: DemuxOptions,
  ) {}

  /** A frame's payload: one message (or part of a long one), each beginning with its timestamp. */
  push(payload: Buffer): LogEntry[] {
    const entries: LogEntry[] = [];
    let offset = 0;
    while (offset < payload.length) {
      offset = this.skipTimestamp(payload, offset);
      const newline = payload.indexOf(NEWLINE, offset);
      if (newline === -1) {
        this.keep(payload.subarray(offset));
        break;
      }
      this.keep(payload.subarray(offset, newline));
      entries.push(this.take());
      offset = newline + 1;
    }
    return entries;
  }

  end(): LogEntry[] {
    return this.parts.length > 0 || this.bytes > 0 ? [this.take()] : [];
  }

  /** Adds a part of the line, as far as `maxLineBytes` allows. */
  private keep(part: Buffer): void {
    const room = (this.options.maxLineBytes ?? Number.POSITIVE_INFINITY) - this.bytes;
    if (room > 0) this.parts.push(room >= part.length ? part : Buffer.from(part.subarray(0, room)));
    this.bytes += part.length;
  }

  private skipTimestamp(payload: Buffer, offset: number): number {
    const head = payload.subarray(offset, offset + TIMESTAMP_MAX_BYTES).toString('latin1');
    const match = TIMESTAMP.exec(head);
    if (!match?.[1]) return offset;
    if (this.parts.length === 0 && this.bytes === 0) {
      this.at = parseTimestamp(match[1]);
      this.time = match[1];
    }
    return offset + match[0].length;
  }

  private take(): LogEntry {
    const max = this.options.maxLineBytes ?? Number.POSITIVE_INFINITY;
    let line = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
    // A character cut at the limit decodes as U+FFFD: the marker follows it.
    if (this.bytes > max) line = `${line}… [${this.bytes - max} bytes cut]`;
    const entry: LogEntry = { stream: this.stream, line, at: this.at };
    if (this.options.times && this.time) entry.time = this.time;
    this.parts = [];
    this.at = null;
    this.time = undefined;
    this.bytes = 0;
    return entry;
  }
}

function parseTimestamp(text: string): Date | null {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}
