import { type ContainerOperations, LABEL_DEPLOYMENT, LABEL_ROLE, type Workload } from '@pier/core';
import type { ReconcileTarget, ReleaseRow, Stores } from '@pier/db';
import { prepareReplicas, STOP_GRACE_SECONDS } from './replica-lifecycle.ts';
import { LABEL_INSTANCE } from './replica-spec.ts';

/** How long the verified backup taken before a release command may take. */
export const RELEASE_BACKUP_TIMEOUT_MS = 900_000;

export interface ReleasePhaseDeps {
  stores: Pick<Stores, 'releases' | 'services' | 'serviceOperations'>;
  workload: Workload;
  networks: Pick<ContainerOperations, 'ensureNetwork'>;
  instance: string;
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

export type ReleasePhaseResult = { ok: true } | { ok: false; reason: string };

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
 */
export async function runReleasePhase(deps: ReleasePhaseDeps, input: ReleasePhaseInput): Promise<ReleasePhaseResult> {
  const backup = await backUpLinkedPostgres(deps, input);
  if (!backup.ok) return backup;
  return runCommand(deps, input);
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
  const labels = { [LABEL_ROLE]: 'release', [LABEL_DEPLOYMENT]: input.deploymentId, [LABEL_INSTANCE]: deps.instance };
  for (const leftover of await deps.workload.list(labels)) await deps.workload.remove(leftover.id);
  const [replica] = await prepareReplicas(deps, input.target, input.release, 1);
  if (!replica) throw new Error('no container spec for the release command');
  const spec = {
    ...replica,
    name: replica.name.replace(/-v(\d+)-([0-9a-f]+)$/, '-v$1-release-$2'),
    // The app's own command, in its own container (with the image's entrypoint, as `docker run <image> <command>`).
    command: ['/bin/sh', '-c', input.command],
    labels: { ...replica.labels, ...labels },
    containerPort: null,
  };
  input.log(`running the release command: ${input.command}`, 'system');
  const started = Date.now();
  const instance = await deps.workload.run(spec);
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), input.timeoutMs);
  try {
    const output = deps.workload.logs(instance.id, { follow: true, signal: timer.signal });
    try {
      for await (const entry of output) input.log(entry.line, entry.stream === 'stderr' ? 'stderr' : 'stdout');
    } catch (err) {
      if (!timer.signal.aborted) throw err;
    }
    if (timer.signal.aborted) {
      await deps.workload.stop(instance.id, STOP_GRACE_SECONDS);
      return { ok: false, reason: `the release command did not finish within ${Math.round(input.timeoutMs / 1000)} s` };
    }
    const exitCode = await exitCodeOf(deps.workload, instance.id);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (exitCode === 0) {
      input.log(`the release command succeeded in ${seconds} s`, 'system');
      return { ok: true };
    }
    return { ok: false, reason: `the release command exited with code ${exitCode ?? 'unknown'} after ${seconds} s` };
  } finally {
    clearTimeout(timeout);
    await deps.workload.remove(instance.id).catch(() => {});
  }
}

/** The exit code once the container has exited (its log stream can end a moment before the Engine says so). */
async function exitCodeOf(workload: Workload, id: string): Promise<number | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const instance = await workload.inspect(id);
    if (!instance) return null;
    if (instance.status === 'exited') return instance.exitCode;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}
