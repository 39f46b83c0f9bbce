import type { ContainerSpec, Workload } from '@pier/core';
import type { ReconcileTarget, ReleaseRow } from '@pier/db';
import { prepareReplicas, STOP_GRACE_SECONDS } from '../deploy/replica-lifecycle.ts';

/**
 * What `prepareReplicas` needs, the workload that runs the container, and
 * (when the log collector runs) a wait for its lines to be stored before it is removed.
 */
export type OneOffDeps = Parameters<typeof prepareReplicas>[0] & {
  workload: Workload;
  logsCollected?: (containerId: string) => Promise<void>;
};

export interface OneOffInput {
  target: Pick<ReconcileTarget, 'environmentId' | 'appName' | 'name'>;
  release: ReleaseRow;
  /** The container's command (after the image's entrypoint, as `docker run <image> <command>`). */
  command: string[];
  /** Added to the replica's labels; a container left with these (by a worker that died) is removed first. */
  labels: Record<string, string>;
  /** Its kind (`release`, `run`, `cron`), in its name, `pier-<app>-<env>-v3-<kind>-<suffix>`; the limits of the environment's web type apply, and no volume is mounted. */
  kind: string;
  /** In place of the release's limits. */
  limits?: Partial<ContainerSpec['limits']>;
  timeoutMs: number;
  /** Each output line of the container. */
  log: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Aborted: the container is stopped (SIGTERM, then SIGKILL after the grace) and the outcome is `cancelled`. */
  cancel?: AbortSignal;
  /** Called with the container's spec before it is made; a throw refuses it (the capacity guard of a run). */
  admit?: (spec: ContainerSpec) => Promise<void>;
  /** Called once the container runs, with its id. */
  started?: (containerId: string) => Promise<void>;
}

export type OneOffOutcome =
  | { kind: 'exited'; exitCode: number | null; durationMs: number }
  | { kind: 'timed-out'; durationMs: number }
  | { kind: 'cancelled'; durationMs: number };

/**
 * A one-off container of a release (a release command, a `POST …/runs`
 * command, a cron run): the environment's variables, links and networks as
 * its replicas have, no published port, its own command. Follows its output
 * until it exits, its time runs out or it is cancelled (then it is stopped
 * with SIGTERM and the grace), and removes it in every case.
 */
export async function runOneOffContainer(deps: OneOffDeps, input: OneOffInput): Promise<OneOffOutcome> {
  for (const leftover of await deps.workload.list(input.labels)) await deps.workload.remove(leftover.id);
  // The web type's limits and no volumes, also when a process type is named like the kind (a Procfile's `cron:`).
  const [replica] = await prepareReplicas(deps, input.target, input.release, 1, { oneOff: true });
  if (!replica) throw new Error('no container spec for a one-off container');
  const spec: ContainerSpec = {
    ...replica,
    name: replica.name.replace(/-v(\d+)-([0-9a-f]+)$/, `-v$1-${input.kind}-$2`),
    command: input.command,
    labels: { ...replica.labels, ...input.labels },
    limits: { ...replica.limits, ...input.limits },
    containerPort: null,
  };
  await input.admit?.(spec);
  const started = Date.now();
  const instance = await deps.workload.run(spec);
  const stop = new AbortController();
  let why: 'timed-out' | 'cancelled' | undefined;
  const end = (reason: 'timed-out' | 'cancelled') => {
    why ??= reason;
    stop.abort();
  };
  const timeout = setTimeout(() => end('timed-out'), input.timeoutMs);
  const onCancel = () => end('cancelled');
  input.cancel?.addEventListener('abort', onCancel);
  if (input.cancel?.aborted) onCancel();
  try {
    await input.started?.(instance.id);
    const output = deps.workload.logs(instance.id, { follow: true, signal: stop.signal });
    try {
      for await (const entry of output) input.log(entry.line, entry.stream === 'stderr' ? 'stderr' : 'stdout');
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
    if (why) {
      await deps.workload.stop(instance.id, STOP_GRACE_SECONDS);
      return { kind: why, durationMs: Date.now() - started };
    }
    const exitCode = await exitCodeOf(deps.workload, instance.id);
    return { kind: 'exited', exitCode, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timeout);
    input.cancel?.removeEventListener('abort', onCancel);
    await deps.logsCollected?.(instance.id).catch(() => {});
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
