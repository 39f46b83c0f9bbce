import type { ContainerOperations, LogEntry } from '@pier/core';
import type { ReplicaRow } from '@pier/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { openEventStream, sendEvent } from '../http/event-stream.ts';

/** Read-only access to container logs: the one thing the API asks of Docker. */
export type LogReader = Pick<ContainerOperations, 'containerLogs'>;

interface Options {
  tail: number;
  since?: Date;
  follow: boolean;
}

/**
 * The logs of several replicas, merged: a JSON list, or with `follow` an SSE
 * stream (`event: line`, data `{ replica, process, stream, line, at }`) that lasts
 * until the client goes away.
 */
export async function streamEnvironmentLogs(
  reader: LogReader,
  replicas: ReplicaRow[],
  options: Options,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const tagged = (replica: ReplicaRow, entry: LogEntry) => ({
    replica: replica.containerName,
    process: replica.processType,
    stream: entry.stream,
    line: entry.line,
    at: entry.at?.toISOString() ?? null,
  });
  if (!options.follow) {
    const lines = [];
    for (const replica of replicas) {
      for await (const entry of reader.containerLogs(replica.containerId as string, {
        tail: options.tail,
        since: options.since,
      })) {
        lines.push(tagged(replica, entry));
      }
    }
    lines.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
    return { lines };
  }
  const { res, closed } = openEventStream(request, reply);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  await Promise.allSettled(
    replicas.map(async (replica) => {
      const entries = reader.containerLogs(replica.containerId as string, { ...options, follow: true, signal: closed });
      for await (const entry of entries) sendEvent(res, 'line', tagged(replica, entry));
    }),
  );
  clearInterval(heartbeat);
  res.end();
  return reply;
}
