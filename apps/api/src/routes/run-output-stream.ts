import { PierError } from '@pier/core';
import type { LogLine, RunStore } from '@pier/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { openEventStream, sendEvent } from '../http/event-stream.ts';

const POLL_MS = 300;
const HEARTBEAT_MS = 15_000;
const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/**
 * Server-Sent Events of a run's output: what is stored after `afterId`, then
 * new lines as the worker writes them, then `event: end` with the run's
 * state, exit code and reason once it has ended (or until the client goes
 * away). Each line's event id is its id: a reconnecting client resumes with
 * Last-Event-ID.
 */
export async function streamRunOutput(
  runs: RunStore,
  runId: string,
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
      const lines = await runs.lines(runId, lastId, 1000);
      send(lines);
      if (lines.length > 0) continue;
      const run = await runs.get(runId);
      if (ENDED.has(run.state)) {
        // The worker stores its last lines before it ends the run: those that landed after the read above are there now.
        const rest = await runs.lines(runId, lastId, 1000);
        send(rest);
        if (rest.length > 0) continue;
        sendEvent(res, 'end', { state: run.state, exitCode: run.exitCode, reason: run.reason });
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
    if (!known) request.log.error({ err, runId }, 'run output stream failed');
    const error = known
      ? { code: err.code, message: err.message }
      : { code: 'internal_error', message: `internal error (request ${request.id})` };
    sendEvent(res, 'error', error);
  } finally {
    res.end();
  }
}
