import type { RunStore } from '@pier/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { streamStoredLines } from './stored-line-stream.ts';

const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/** Server-Sent Events of a run's output, then `event: end` with its state, exit code and reason once it has ended. */
export function streamRunOutput(
  runs: RunStore,
  runId: string,
  afterId: number,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  return streamStoredLines(
    {
      read: (after, limit) => runs.lines(runId, after, limit),
      ended: async () => {
        const run = await runs.get(runId);
        return ENDED.has(run.state) ? { state: run.state, exitCode: run.exitCode, reason: run.reason } : null;
      },
      what: { runId },
    },
    afterId,
    request,
    reply,
  );
}
