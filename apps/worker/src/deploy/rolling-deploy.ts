import type { ContainerOperations, ResourceLimits } from '@pier/core';
import type { HealthSettings, ReleaseRow, ReplicaRow, ReplicaStore } from '@pier/db';
import type { Logger } from '@pier/log';
import { waitUntilHealthy } from './health-gate.ts';
import { environmentNetwork, LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, replicaSpec } from './replica-spec.ts';

export interface RolloutDeps {
  containers: ContainerOperations;
  /** Installation name, put on every container (LABEL_INSTANCE). */
  instance: string;
  replicas: ReplicaStore;
  logger: Logger;
}

export interface RolloutInput {
  app: string;
  env: string;
  environmentId: string;
  release: ReleaseRow;
  /** The release's variables plus those of the services linked now. */
  config: Record<string, string>;
  /** Networks of the services linked now (not when the release was made: an unlinked service stays out of reach). */
  networks: string[];
  health: HealthSettings;
  limits?: ResourceLimits;
  /** Progress lines for the deployment's log. */
  log: (line: string) => void;
}

/** A failure's reason quotes the container's last log lines as they are: the caller masks it before it is stored. */
export type RolloutResult = { ok: true; draining: ReplicaRow[] } | { ok: false; reason: string };

/**
 * Starts the release's replicas next to the old ones, waits until every one
 * passes its health check, then switches the route in one transaction. If any
 * never gets healthy, the new ones are removed and the old release keeps
 * serving. Returns the old replicas to drain.
 */
export async function rollOut(deps: RolloutDeps, input: RolloutInput): Promise<RolloutResult> {
  const network = environmentNetwork(input.app, input.env);
  await deps.containers.ensureNetwork(network, {
    'pier.app': input.app,
    'pier.env': input.env,
    [LABEL_ENVIRONMENT_ID]: input.environmentId,
    // The reconciler sweeps only its own installation's empty networks of deleted environments.
    [LABEL_INSTANCE]: deps.instance,
  });
  await removeLeftovers(deps, input);
  const count = input.release.replicas;
  input.log(`starting ${count} replica${count === 1 ? '' : 's'} of release v${input.release.version}`);
  const started = await Promise.all(Array.from({ length: count }, () => startReplica(deps, input)));
  const checks = await Promise.all(started.map((replica) => gate(deps, input, replica)));
  const failed = checks.filter((c) => !c.healthy);
  if (failed.length > 0) {
    const reason = await failureReason(deps, input, failed);
    await removeReplicas(deps, started, 0);
    return { ok: false, reason };
  }
  input.log('all replicas healthy; switching traffic');
  const draining = await deps.replicas.switchTo(
    input.environmentId,
    input.release.id,
    started.map((r) => r.id),
  );
  return { ok: true, draining };
}

/** Lets in-flight requests to replaced replicas finish, then stops them (SIGTERM, then SIGKILL after the grace). */
export async function drain(deps: RolloutDeps, draining: ReplicaRow[], drainTimeoutMs: number, graceSeconds = 10): Promise<void> {
  if (draining.length === 0) return;
  await new Promise((resolve) => setTimeout(resolve, drainTimeoutMs));
  await removeReplicas(deps, draining, graceSeconds);
}

export async function startReplica(deps: RolloutDeps, input: RolloutInput): Promise<ReplicaRow> {
  const spec = replicaSpec({
    instance: deps.instance,
    app: input.app,
    env: input.env,
    environmentId: input.environmentId,
    release: { ...input.release, networks: input.networks },
    config: input.config,
    limits: input.limits,
  });
  const row = await deps.replicas.add(input.environmentId, input.release.id, spec.name);
  const info = await deps.containers.runContainer(spec);
  await deps.replicas.attach(row.id, info.id, info.hostPort);
  return { ...row, containerId: info.id, hostPort: info.hostPort };
}

export async function gate(deps: RolloutDeps, input: RolloutInput, replica: ReplicaRow) {
  const result = await waitUntilHealthy({
    url: `http://127.0.0.1:${replica.hostPort}${input.health.path}`,
    settings: input.health,
    isRunning: async () => (await deps.containers.inspectContainer(replica.containerId as string))?.status === 'running',
  });
  return { ...result, replica };
}

async function failureReason(
  deps: RolloutDeps,
  input: RolloutInput,
  failed: { replica: ReplicaRow; responses: string[]; reason?: string }[],
): Promise<string> {
  const first = failed[0];
  if (!first) return 'replicas did not get healthy';
  const lines: string[] = [];
  try {
    for await (const entry of deps.containers.containerLogs(first.replica.containerId as string, { tail: 20 }))
      lines.push(entry.line);
  } catch {
    // the container may already be gone
  }
  return [
    `release v${input.release.version} did not pass its health check (GET ${input.health.path}): ${first.reason ?? 'unhealthy'}`,
    `last health responses: ${first.responses.join(', ') || 'none'}`,
    'last log lines of the container:',
    ...lines.slice(-20),
  ].join('\n');
}

/** Replicas of this environment left in `starting` by a crashed deploy are removed before a new one. */
async function removeLeftovers(deps: RolloutDeps, input: RolloutInput): Promise<void> {
  const leftovers = await deps.replicas.list(input.environmentId, ['starting']);
  await removeReplicas(deps, leftovers, 0);
}

export async function removeReplicas(deps: RolloutDeps, rows: ReplicaRow[], graceSeconds: number): Promise<void> {
  await Promise.all(
    rows.map(async (row) => {
      if (!row.containerId) return;
      try {
        if (graceSeconds > 0) await deps.containers.stopContainer(row.containerId, graceSeconds);
        await deps.containers.removeContainer(row.containerId);
      } catch (err) {
        deps.logger.warn(
          { err, containerId: row.containerId },
          'could not remove a replica container; the reconciler will retry',
        );
      }
    }),
  );
  await deps.replicas.remove(rows.map((r) => r.id));
}
