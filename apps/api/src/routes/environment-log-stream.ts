import { PierError, ValidationError } from '@pier/core';
import type { LogLineRow, LogQuery, LogStore } from '@pier/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { openEventStream, room, sendEvent } from '../http/event-stream.ts';

/** The widest time range one request may ask for. */
export const MAX_RANGE_DAYS = 31;
const DAY_MS = 86_400_000;
/** How often a follower looks for new lines (a read of the (environment, id) index). */
const POLL_MS = 250;
const HEARTBEAT_MS = 15_000;
const PAGE = 1000;
/** The most text one answer that does not follow holds (10 000 lines of 16 KiB would be 160 MB). */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
const CAPPED_PAGE = 500;

export const logsQuery = z.strictObject({
  follow: z.enum(['1', 'true', '0', 'false']).optional(),
  tail: z.coerce.number().int().min(0).max(10_000).optional().describe('the newest N lines that match (default 100)'),
  since: z.iso.datetime({ offset: true }).optional().describe('only lines written at or after this time (ISO 8601)'),
  until: z.iso.datetime({ offset: true }).optional().describe('only lines written at or before this time (ISO 8601)'),
  text: z.string().min(1).max(200).optional().describe('only lines containing this text (case-insensitive, literal)'),
  process: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a process type name')
    .optional()
    .describe('only lines of this process type (web, worker, …; release, run and cron for those containers)'),
  replica: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a container name')
    .optional()
    .describe('only lines of this container'),
  after: z.coerce.number().int().min(0).optional().describe('only lines after this id, oldest first (paging, resuming)'),
  before: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe('only lines before this id: the newest `tail` of them (paging back from the oldest line shown); not with follow'),
});

export type LogsQuery = z.infer<typeof logsQuery>;

/** What a request asks of the store, checked: a range inverted or wider than MAX_RANGE_DAYS is refused naming the field. */
export function storeQuery(environmentId: string, query: LogsQuery, now = new Date()): LogQuery {
  const since = query.since ? new Date(query.since) : undefined;
  const until = query.until ? new Date(query.until) : undefined;
  if (since && until && until < since) throw new ValidationError('query.until: must not be before since', 'query.until');
  if (since && (until ?? now).getTime() - since.getTime() > MAX_RANGE_DAYS * DAY_MS)
    throw new ValidationError(`query.since: the range may span at most ${MAX_RANGE_DAYS} days`, 'query.since');
  return {
    environmentId,
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(query.text ? { text: query.text } : {}),
    ...(query.process ? { processType: query.process } : {}),
    ...(query.replica ? { replica: query.replica } : {}),
    ...(query.after !== undefined ? { after: query.after } : {}),
    ...(query.before !== undefined ? { beforeId: query.before } : {}),
    limit: query.tail ?? 100,
    // Without `after`: the newest lines (still oldest first); with it: the next lines after it.
    order: query.after !== undefined ? 'asc' : 'desc',
  };
}

/** One stored line as the API shows it. */
export function presentLogLine(row: LogLineRow) {
  return {
    id: row.id,
    at: row.at.toISOString(),
    replica: row.replica,
    process: row.processType,
    release: row.releaseVersion,
    stream: row.stream,
    line: row.line,
  };
}

export const logLineResponse = z.object({
  id: z.number(),
  at: z.string(),
  replica: z.string(),
  process: z.string(),
  release: z.number().nullable(),
  stream: z.string(),
  line: z.string(),
});

/**
 * The lines of `query` (not following), read in pages until its limit or
 * `maxBytes` of text: past that, the lines furthest from where the query
 * starts are left out and `truncated` says so.
 */
export async function readCapped(
  logs: Pick<LogStore, 'read'>,
  query: LogQuery,
  maxBytes = MAX_ANSWER_BYTES,
): Promise<{ rows: LogLineRow[]; truncated: boolean }> {
  const rows: LogLineRow[] = [];
  let bytes = 0;
  let edge: number | undefined;
  while (rows.length < query.limit) {
    const limit = Math.min(CAPPED_PAGE, query.limit - rows.length);
    const page =
      query.order === 'asc'
        ? await logs.read({ ...query, limit, ...(edge !== undefined ? { after: edge } : {}) })
        : (await logs.read({ ...query, limit, ...(edge !== undefined ? { beforeId: edge } : {}) })).reverse();
    for (const row of page) {
      bytes += Buffer.byteLength(row.line);
      if (bytes > maxBytes) return { rows: ordered(rows, query), truncated: true };
      rows.push(row);
      edge = row.id;
    }
    if (page.length < limit) break;
  }
  return { rows: ordered(rows, query), truncated: false };
}

/** Rows gathered newest first (`desc`) back in id order. */
const ordered = (rows: LogLineRow[], query: LogQuery) => (query.order === 'asc' ? rows : rows.reverse());

/**
 * Server-Sent Events of an environment's stored logs: the lines of `query`
 * (the newest, or those after `query.after`), then every new line that
 * matches as the collector stores it, until the client goes away. Each
 * event's id is the line's id: a client reconnecting with Last-Event-ID (or
 * `after`) neither misses nor repeats lines. Without `after`, following
 * begins at the newest line stored when the request came, whatever the first
 * answer held (`tail=0`, a filter matching nothing). Each poll scans only the
 * ids stored since the last (up to the newest id it read first), and a
 * client that reads slower than the lines come is waited for, never buffered
 * for. An error after the headers is an `event: error`.
 */
export async function streamEnvironmentLogs(
  logs: Pick<LogStore, 'read' | 'maxId'>,
  query: LogQuery,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const { res, closed } = openEventStream(request, reply);
  let lastWrite = Date.now();
  const send = async (rows: LogLineRow[]) => {
    for (const row of rows) {
      if (closed.aborted) return;
      if (!sendEvent(res, 'line', presentLogLine(row), row.id)) await room(res, closed);
      lastWrite = Date.now();
    }
  };
  try {
    // Lines up to `scanned` were all looked at (sent when they matched).
    let scanned = query.after ?? (await logs.maxId(query.environmentId));
    const first = await logs.read(query);
    await send(first);
    scanned = Math.max(scanned, first.at(-1)?.id ?? 0);
    while (!closed.aborted) {
      const newest = await logs.maxId(query.environmentId);
      if (newest > scanned) {
        const rows = await logs.read({ ...query, after: scanned, beforeId: newest + 1, order: 'asc', limit: PAGE });
        await send(rows);
        scanned = rows.length === PAGE ? (rows.at(-1) as LogLineRow).id : newest;
        if (rows.length === PAGE) continue;
      }
      if (Date.now() - lastWrite > HEARTBEAT_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (err) {
    const known = err instanceof PierError;
    if (!known) request.log.error({ err, environmentId: query.environmentId }, 'log stream failed');
    const error = known
      ? { code: err.code, message: err.message }
      : { code: 'internal_error', message: `internal error (request ${request.id})` };
    sendEvent(res, 'error', error);
  } finally {
    res.end();
  }
}
