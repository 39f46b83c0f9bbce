import { PierError } from '@pier/core';
import type { LogLine } from '@pier/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { openEventStream, sendEvent } from '../http/event-stream.ts';

const POLL_MS = 300;
const HEARTBEAT_MS = 15_000;
const PAGE = 1000;

/** Where a stream of stored lines reads, and how it knows the writer is done. */
export interface StoredLines {
  /** Lines stored after `afterId`, oldest first, at most `limit`. */
  read(afterId: number, limit: number): Promise<LogLine[]>;
  /** The `end` event's data once the writer is done (it stores its last lines first); null while it writes. */
  ended(): Promise<Record<string, unknown> | null>;
  /** Names the stream in the api's log when it fails. */
  what: Record<string, string>;
}

/**
 * Server-Sent Events of stored output (a deployment's build log, a run's
 * output): what is stored after `afterId`, then new lines as the worker
 * writes them, then `event: end` once the writer is done, or until the
 * client goes away. Each line's event id is its id, so a reconnecting
 * client resumes with Last-Event-ID. An error after the headers (the row was
 * deleted, Postgres went away) is an `event: error`.
 */
export async function streamStoredLines(
  source: StoredLines,
  afterId: number,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const { res, closed } = openEventStream(request, reply);
  let lastId = afterId;
  let lastWrite = Date.now();
  const send = (lines: LogLine[]) => {
    for (const line of lines) {
      sendEvent(res, 'line', { stream: line.stream, line: line.line, at: line.at }, line.id);
      lastId = line.id;
      lastWrite = Date.now();
    }
  };
  try {
    while (!closed.aborted) {
      const lines = await source.read(lastId, PAGE);
      send(lines);
      if (lines.length > 0) continue;
      const end = await source.ended();
      if (end) {
        // The writer stores its last lines before it says it is done: those that landed after the read above are there now.
        const rest = await source.read(lastId, PAGE);
        send(rest);
        if (rest.length > 0) continue;
        sendEvent(res, 'end', end);
        break;
      }
      if (Date.now() - lastWrite > HEARTBEAT_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (err) {
    const known = err instanceof PierError;
    if (!known) request.log.error({ err, ...source.what }, 'output stream failed');
    const error = known
      ? { code: err.code, message: err.message }
      : { code: 'internal_error', message: `internal error (request ${request.id})` };
    sendEvent(res, 'error', error);
  } finally {
    res.end();
  }
}
