import {
  ConflictError,
  type ContainerOperations,
  type ContainerSpec,
  LABEL_APP,
  LABEL_ENV,
  volumeLabels,
  type Workload,
} from '@pier/core';
import { type ReconcileTarget, type ReleaseRow, type Stores, volumeMounts } from '@pier/db';
import { processLimits } from './process-limits.ts';
import { replicaConfig } from './replica-config.ts';
import { environmentNetwork, LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, replicaSpec } from './replica-spec.ts';

/** SIGTERM, then SIGKILL after this long, for a replica that served. */
export const STOP_GRACE_SECONDS = 10;

/**
 * What `count` new replicas of `release` need before they start: the
 * environment's network (made once, labelled with the installation, which
 * sweeps only its own) and their specs, with the release's variables and the
 * services linked now, the process type's command (the release's; web's
 * default is the image's own) and limits, and the volumes the type mounts.
 * `oneOff`: a one-off container (a release command, a run, a cron run): the
 * web type's limits, no command of its own and no volumes, whatever
 * `processType` says (a process type may be named `cron` or `run`).
 */
export async function prepareReplicas(
  deps: {
    stores: Pick<Stores, 'releases' | 'services' | 'volumes' | 'processes'>;
    /** `ensureVolume` makes each volume the replicas mount, with Pier's labels, if the volume operator has not yet. */
    networks: Pick<ContainerOperations, 'ensureNetwork'> & Partial<Pick<ContainerOperations, 'ensureVolume'>>;
    instance: string;
  },
  target: Pick<ReconcileTarget, 'environmentId' | 'appName' | 'name'>,
  release: ReleaseRow,
  count: number,
  options: { processType?: string; oneOff?: boolean } = {},
): Promise<ContainerSpec[]> {
  const type = options.processType ?? 'web';
  const commands = (release.processes ?? {}) as Record<string, string | null>;
  const ownType = !options.oneOff && (type in commands || type === 'web');
  await deps.networks.ensureNetwork(environmentNetwork(target.appName, target.name), {
    [LABEL_APP]: target.appName,
    [LABEL_ENV]: target.name,
    [LABEL_ENVIRONMENT_ID]: target.environmentId,
    [LABEL_INSTANCE]: deps.instance,
  });
  const { config, networks, files } = await replicaConfig(deps.stores, target.environmentId, release);
  const limits = await processLimits(deps.stores, target.environmentId, release, ownType ? type : 'web');
  const volumes = ownType ? await mountVolumes(deps, target, type) : {};
  return Array.from({ length: count }, () =>
    replicaSpec({
      instance: deps.instance,
      app: target.appName,
      env: target.name,
      environmentId: target.environmentId,
      release: { ...release, networks },
      config,
      files,
      limits,
      ...(ownType ? { processType: type, command: commands[type] ?? null, volumes } : {}),
    }),
  );
}

/**
 * The volumes a process type mounts (Docker volume → mount path), each made
 * with Pier's labels first: Docker would otherwise make an unlabelled one on
 * the replica's start, which nothing of Pier's would ever back up or remove.
 */
async function mountVolumes(
  deps: Parameters<typeof prepareReplicas>[0],
  target: Pick<ReconcileTarget, 'environmentId' | 'appName' | 'name'>,
  type: string,
): Promise<Record<string, string>> {
  const mounted = (await deps.stores.volumes.list(target.environmentId)).filter((v) => v.processTypes.includes(type));
  const owner = { app: target.appName, env: target.name, environmentId: target.environmentId };
  for (const volume of mounted) {
    await deps.networks.ensureVolume?.(volume.dockerName, volumeLabels({ ...owner, name: volume.name }, deps.instance));
  }
  return volumeMounts(mounted, type);
}

/**
 * Stops (with SIGTERM and a grace, when `graceful`) and removes a replica's
 * container. The last one of a deleted environment (a closed pull request's
 * preview) takes the environment's network with it: Docker removes a network
 * whose containers are all stopped and refuses (ConflictError) while another
 * runs, which is removed next.
 */
export async function tearDownReplica(
  deps: { workload: Pick<Workload, 'stop' | 'remove'>; networks: Pick<ContainerOperations, 'removeNetwork'> },
  containerId: string,
  options: { graceful: boolean; environmentGone: boolean; labels?: Record<string, string> },
): Promise<void> {
  if (options.graceful || options.environmentGone) await deps.workload.stop(containerId, STOP_GRACE_SECONDS);
  const app = options.labels?.[LABEL_APP];
  const env = options.labels?.[LABEL_ENV];
  if (options.environmentGone && app && env) {
    await deps.networks.removeNetwork(environmentNetwork(app, env)).catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
  }
  await deps.workload.remove(containerId);
}
