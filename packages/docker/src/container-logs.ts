import type { Readable } from 'node:stream';
import { type LogEntry, type LogOptions, NotFoundError, ValidationError } from '@pier/core';
import type Dockerode from 'dockerode';
import { isStatus } from './engine-errors.ts';
import { LogDemuxer } from './log-demux.ts';

/**
 * The query of `GET /containers/{id}/logs`: both streams, always with
 * timestamps (split off into `at`). `since` goes as seconds.nanoseconds, which
 * the Engine accepts, so no line before it is repeated.
 */
export function logQuery(options: LogOptions): Record<string, string | number | boolean> {
  if (options.tail !== undefined && (!Number.isInteger(options.tail) || options.tail < 0)) {
    throw new ValidationError(`tail must be a whole number ≥ 0, not ${options.tail}`, 'tail');
  }
  return {
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: options.follow === true,
    tail: options.tail === undefined ? 'all' : options.tail,
    ...(options.sinceTime
      ? { since: engineSeconds(options.sinceTime) }
      : options.since
        ? { since: unixSeconds(options.since) }
        : {}),
  };
}

/** `ContainerOperations.containerLogs` over the Engine API. */
export async function* containerLogs(docker: Dockerode, id: string, options: LogOptions): AsyncGenerator<LogEntry> {
  const { signal } = options;
  if (signal?.aborted) return;
  const source = await openLogs(docker.getContainer(id), logQuery(options));
  const demuxer = new LogDemuxer({ times: true, ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}) });
  if (Buffer.isBuffer(source)) {
    yield* [...demuxer.push(source), ...demuxer.end()];
    return;
  }
  const stop = (): void => {
    source.destroy();
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of source) {
      yield* demuxer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
    source.destroy();
  }
  if (!signal?.aborted) yield* demuxer.end();
}

/** The log stream (follow) or the whole log (no follow, dockerode buffers it). */
async function openLogs(container: Dockerode.Container, query: Record<string, unknown>): Promise<Readable | Buffer> {
  try {
    const result: unknown = await container.logs(query as unknown as Dockerode.ContainerLogsOptions & { follow: true });
    if (Buffer.isBuffer(result) || isReadable(result)) return result;
    throw new Error(`the Engine answered GET /containers/${container.id}/logs with something that is not a log`);
  } catch (error) {
    if (isStatus(error, 404)) throw new NotFoundError(`container ${container.id} does not exist`);
    throw error;
  }
}

function unixSeconds(date: Date): string {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String((ms - seconds * 1000) * 1_000_000).padStart(9, '0')}`;
}

/** An engine timestamp (`2024-05-01T10:00:00.123456789Z`) as seconds.nanoseconds, the nanoseconds kept. */
export function engineSeconds(time: string): string {
  const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  const seconds = match ? Date.parse(`${match[1]}${match[3]}`) / 1000 : Number.NaN;
  if (!match || !Number.isInteger(seconds))
    throw new ValidationError(`sinceTime is not an engine timestamp: ${time}`, 'sinceTime');
  return `${seconds}.${(match[2] ?? '').padEnd(9, '0')}`;
}

function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function';
}
