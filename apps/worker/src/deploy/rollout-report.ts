import { createSecretMask, type Workload } from '@pier/core';
import type { ReconcileTarget, Stores } from '@pier/db';
import { DeploymentLogWriter } from '../deployment-log-writer.ts';
import { replicaSecrets } from './replica-config.ts';

/** Why a rollout failed, for its deployment: the gate's reason, its last probe answers, the replica's last output. */
export function rolloutFailureReason(input: {
  version: number | null;
  gateReason: string;
  responses: readonly string[];
  logLines: readonly string[];
}): string {
  return [
    `release v${input.version ?? '?'} ${input.gateReason}`,
    `last health responses: ${input.responses.join(', ') || 'none'}`,
    'last log lines of the container:',
    ...input.logLines.slice(-20),
  ].join('\n');
}

/** The last `count` output lines of a replica; none when it is gone. */
export async function lastLogLines(workload: Pick<Workload, 'logs'>, id: string, count = 20): Promise<string[]> {
  const lines: string[] = [];
  try {
    for await (const entry of workload.logs(id, { tail: count })) lines.push(entry.line);
  } catch {
    // the replica may already be gone
  }
  return lines;
}

/**
 * Appends lines to the log of the deployment the environment's rollout
 * carries out, masked with every value its replicas can print (or `mask`).
 */
export async function appendRolloutLog(
  stores: Pick<Stores, 'deployments' | 'variables' | 'services' | 'releases'>,
  target: ReconcileTarget,
  lines: readonly string[],
  options: { mask?: (text: string) => string; maxBytes?: number } = {},
): Promise<void> {
  const deploymentId = target.rollout?.deploymentId;
  if (!deploymentId) return;
  const mask = options.mask ?? createSecretMask(await replicaSecrets(stores, target.appId, target.environmentId));
  const log = new DeploymentLogWriter(stores.deployments, deploymentId, { mask, maxBytes: options.maxBytes });
  for (const line of lines) log.write(line, 'system');
  await log.close();
}
