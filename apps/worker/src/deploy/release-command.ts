import { LABEL_DEPLOYMENT, LABEL_ROLE } from '@pier/core';
import type { ReconcileTarget, ReleaseRow, Stores } from '@pier/db';
import { type OneOffDeps, runOneOffContainer } from '../runs/one-off-container.ts';
import { processCommand } from './process-command.ts';
import { LABEL_INSTANCE } from './replica-spec.ts';

/** How long the verified backup taken before a release command may take. */
export const RELEASE_BACKUP_TIMEOUT_MS = 900_000;

export interface ReleasePhaseDeps extends OneOffDeps {
  stores: OneOffDeps['stores'] & Pick<Stores, 'releases' | 'serviceOperations' | 'leases' | 'rollouts'>;
}

export interface ReleasePhaseInput {
  target: Pick<ReconcileTarget, 'environmentId' | 'appName' | 'name'>;
  release: ReleaseRow;
  deploymentId: string;
  command: string;
  timeoutMs: number;
  /** Each output line (masked by the caller's log writer) and Pier's own lines. */
  log: (line: string, stream: 'stdout' | 'stderr' | 'system') => void;
  /** How often the backup's progress is checked. */
  pollMs?: number;
}

/** `skipped`: a newer deployment of the environment began rolling out first, so this one's command is not run. */
export type ReleasePhaseResult = { ok: true; skipped?: string } | { ok: false; reason: string };

/**
 * The release phase of a new release, before any of its replicas starts: a
 * verified backup of the environment's linked Postgres (recorded with the
 * release, for `rollback { restoreData }`), then the release command in a
 * one-off container of the new image with the environment's variables, links
 * and networks. Its output goes to the deployment's log. A failed backup, a
 * non-zero exit or the time limit is a failure: the caller fails the
 * deployment and the live release keeps serving. A worker that dies during
 * the command runs it again when the job is retried (release commands are
 * expected to be idempotent, as on Heroku); the container it left is removed first.
 *
 * One release phase runs at a time per environment (a lease in Postgres,
 * held for the longest a phase may take): a second deployment waits, and
 * does not run its command at all when a newer deployment has begun rolling
 * out meanwhile (its backup would be taken mid-migration, and an older
 * migration would run after a newer one).
 */
export async function runReleasePhase(deps: ReleasePhaseDeps, input: ReleasePhaseInput): Promise<ReleasePhaseResult> {
  const lease = `release-phase:${input.target.environmentId}`;
  const ttlMs = input.timeoutMs + RELEASE_BACKUP_TIMEOUT_MS + 60_000;
  const giveUpAt = Date.now() + ttlMs;
  let announced = false;
  while (!(await deps.stores.leases.acquire(lease, input.deploymentId, ttlMs))) {
    if (Date.now() > giveUpAt)
      return { ok: false, reason: 'the release phase of another deployment of this environment did not end in time' };
    if (!announced) input.log('waiting for the release command of another deployment of this environment to finish', 'system');
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, input.pollMs ?? 1000));
  }
  try {
    if (await deps.stores.rollouts.newerBegun(input.target.environmentId, input.deploymentId))
      return {
        ok: true,
        skipped: 'a newer deployment of this environment has begun rolling out: its release command is not run',
      };
    const backup = await backUpLinkedPostgres(deps, input);
    if (!backup.ok) return backup;
    return await runCommand(deps, input);
  } finally {
    await deps.stores.leases.release(lease, input.deploymentId);
  }
}

async function backUpLinkedPostgres(deps: ReleasePhaseDeps, input: ReleasePhaseInput): Promise<ReleasePhaseResult> {
  const links = await deps.stores.services.links(input.target.environmentId);
  const postgres =
    links.find((l) => l.service.type === 'postgres' && l.variable === 'DATABASE_URL') ??
    links.find((l) => l.service.type === 'postgres');
  if (!postgres) return { ok: true };
  const service = postgres.service;
  input.log(`backing up ${service.name} before the release command`, 'system');
  const requested = await deps.stores.serviceOperations.requestBackup(service, 'release');
  if (!requested) return { ok: false, reason: `the backup of ${service.name} before the release command could not be requested` };
  const deadline = Date.now() + RELEASE_BACKUP_TIMEOUT_MS;
  for (;;) {
    const backup = await deps.stores.serviceOperations.backup(requested.id);
    if (backup.state === 'good') {
      await deps.stores.releases.setBackup(input.release.id, backup.id);
      input.log(`backup ${backup.id} of ${service.name} verified (${backup.sizeBytes ?? 0} bytes)`, 'system');
      return { ok: true };
    }
    if (backup.state === 'failed')
      return {
        ok: false,
        reason: `the backup of ${service.name} before the release command failed: ${backup.error ?? 'unknown error'}`,
      };
    if (Date.now() > deadline)
      return {
        ok: false,
        reason: `the backup of ${service.name} before the release command did not finish within ${RELEASE_BACKUP_TIMEOUT_MS / 60_000} min`,
      };
    await new Promise((resolve) => setTimeout(resolve, input.pollMs ?? 1000));
  }
}

async function runCommand(deps: ReleasePhaseDeps, input: ReleasePhaseInput): Promise<ReleasePhaseResult> {
  input.log(`running the release command: ${input.command}`, 'system');
  const outcome = await runOneOffContainer(deps, {
    target: input.target,
    release: input.release,
    // The app's own command, in its own container (with the image's entrypoint, as `docker run <image> <command>`),
    // under the shell that passes the time limit's SIGTERM on to it.
    command: processCommand(input.command),
    labels: { [LABEL_ROLE]: 'release', [LABEL_DEPLOYMENT]: input.deploymentId, [LABEL_INSTANCE]: deps.instance },
    kind: 'release',
    timeoutMs: input.timeoutMs,
    log: input.log,
  });
  if (outcome.kind !== 'exited')
    return { ok: false, reason: `the release command did not finish within ${Math.round(input.timeoutMs / 1000)} s` };
  const seconds = (outcome.durationMs / 1000).toFixed(1);
  if (outcome.exitCode === 0) {
    input.log(`the release command succeeded in ${seconds} s`, 'system');
    return { ok: true };
  }
  return { ok: false, reason: `the release command exited with code ${outcome.exitCode ?? 'unknown'} after ${seconds} s` };
}
