import { isTerminal, PierError } from '@pier/core';
import type { DeploymentStore, LogLine } from '@pier/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { openEventStream, sendEvent } from '../http/event-stream.ts';

const POLL_MS = 300;
const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events of a deployment's log lines: what is stored after
 * `afterId`, then new lines as the worker writes them, until the build phase
 * is over (`event: end`) or the client goes away. Each event's id is the line
 * id, so a reconnecting client resumes with Last-Event-ID.
 */
export async function streamDeploymentLogs(
  deployments: DeploymentStore,
  deploymentId: string,
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
      const lines = await deployments.logs(deploymentId, lastId, 1000);
      send(lines);
      if (lines.length > 0) continue;
      const { state } = await deployments.get(deploymentId);
      if (state !== 'queued' && state !== 'building') {
        // The worker stores its last lines before it changes the state: those that
        // landed after the read above are there now.
        const rest = await deployments.logs(deploymentId, lastId, 1000);
        send(rest);
        if (rest.length > 0) continue;
        sendEvent(res, 'end', { state, terminal: isTerminal(state) });
        break;
      }
      if (Date.now() - lastWrite > HEARTBEAT_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (err) {
    // Headers are sent: the error goes in the stream (the deployment was deleted, Postgres went away).
    const known = err instanceof PierError;
    if (!known) request.log.error({ err, deploymentId }, 'log stream failed');
    const error = known
      ? { code: err.code, message: err.message }
      : { code: 'internal_error', message: `internal error (request ${request.id})` };
    sendEvent(res, 'error', error);
  } finally {
    res.end();
  }
}
