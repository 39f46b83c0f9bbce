import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Takes the response over from fastify for Server-Sent Events and returns the
 * raw response plus an AbortSignal that fires when the client goes away, or
 * when the credential the stream was opened with no longer holds (signed
 * out, expired, revoked: checked every `request.reauthorize.everyMs`; the
 * stream then says `signed-out` and ends).
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): { res: ServerResponse; closed: AbortSignal } {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-request-id': request.id,
    'x-accel-buffering': 'no',
  });
  // Node holds the headers until the first write, which may be a while for a queued build.
  res.flushHeaders();
  const abort = new AbortController();
  request.raw.on('close', () => abort.abort());
  res.on('close', () => abort.abort());
  const reauthorize = request.reauthorize;
  if (reauthorize) {
    const timer = setInterval(() => {
      reauthorize.check().then(
        (still) => {
          if (still || abort.signal.aborted) return;
          sendEvent(res, 'signed-out', {});
          res.end();
          abort.abort();
        },
        () => {}, // unsure (Postgres away): asked again next time
      );
    }, reauthorize.everyMs);
    abort.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
  return { res, closed: abort.signal };
}

/** An SSE comment (a keep-alive); nothing once the response has ended. */
export function sendComment(res: ServerResponse, text: string): void {
  if (!res.writableEnded && !res.destroyed) res.write(`: ${text}\n\n`);
}

/** One SSE event; false when the response's buffer is full (wait for `room` before writing more). Nothing once it ended. */
export function sendEvent(res: ServerResponse, event: string, data: unknown, id?: number): boolean {
  if (res.writableEnded || res.destroyed) return true;
  return res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Resolves once `res` drained its buffer to the client, or the client went away (`closed`). */
export async function room(res: ServerResponse, closed: AbortSignal): Promise<void> {
  if (!res.writableNeedDrain || closed.aborted) return;
  await once(res, 'drain', { signal: closed }).catch(() => {});
}
