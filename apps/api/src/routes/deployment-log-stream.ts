import { isTerminal } from '@pier/core';
import type { DeploymentStore } from '@pier/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { streamStoredLines } from './stored-line-stream.ts';

/** Server-Sent Events of a deployment's log lines, until the build phase is over (`event: end` with its state). */
export function streamDeploymentLogs(
  deployments: DeploymentStore,
  deploymentId: string,
  afterId: number,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  return streamStoredLines(
    {
      read: (after, limit) => deployments.logs(deploymentId, after, limit),
      ended: async () => {
        const { state } = await deployments.get(deploymentId);
        return state !== 'queued' && state !== 'building' ? { state, terminal: isTerminal(state) } : null;
      },
      what: { deploymentId },
    },
    afterId,
    request,
    reply,
  );
}
