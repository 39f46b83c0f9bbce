import { ConflictError, isName, mountPathProblem, ValidationError, volumeNameProblem } from '@pier/core';
import type { EnvironmentRow, VolumeBackupRow, VolumeOperationRow, VolumeRow } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { presentDeployment } from '../presenters.ts';
import { envParams } from '../schemas.ts';
import { redeployWithSettings } from './run-settings-redeploy.ts';

const volumeName = z.string().superRefine((value, ctx) => {
  const problem = volumeNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const mountPath = z.string().superRefine((value, ctx) => {
  const problem = mountPathProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const processTypes = z
  .array(z.string().refine(isName, 'must be a process type name (a-z, 0-9, single dashes, at most 63)'))
  .min(1)
  .max(20)
  .refine((types) => new Set(types).size === types.length, 'must not name a type twice');

const createVolumeBody = z.strictObject({
  name: volumeName.describe('a-z, 0-9 and dashes, at most 40 characters; unique in the environment'),
  mountPath: mountPath.describe('absolute path in the container, e.g. /data; not /, /proc, /sys, /dev, /etc, /usr…'),
  processTypes: processTypes.optional().describe('the process types whose replicas mount it (default ["web"])'),
  shared: z
    .boolean()
    .optional()
    .describe('false (default): single-writer, one replica at a time; true: every replica mounts it at once'),
});
const volumeParams = envParams.extend({ volume: volumeName });
const deleteQuery = z.strictObject({
  deleteData: z.enum(['true', 'false', '1', '0']).optional().describe('also remove the Docker volume and its backups'),
});
const updateVolumeBody = z
  .strictObject({
    mountPath: mountPath.optional().describe('where it is mounted'),
    processTypes: z
      .array(z.string().refine(isName, 'must be a process type name (a-z, 0-9, single dashes, at most 63)'))
      .max(20)
      .refine((types) => new Set(types).size === types.length, 'must not name a type twice')
      .optional()
      .describe('the process types whose replicas mount it ([]: none, e.g. a restored copy kept aside)'),
    shared: z.boolean().optional().describe('false: single-writer; true: every replica mounts it at once'),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), 'give mountPath, processTypes or shared');
const restoreBody = z.strictObject({
  backupId: z.uuid().describe('a good (verified) backup of this volume'),
  into: volumeName
    .optional()
    .describe(
      'a new volume to restore into, mounted nowhere until PATCHed (default: this volume, whose replicas must be stopped)',
    ),
});

const truthy = (value: string | undefined) => value === 'true' || value === '1';

export function presentVolume(volume: VolumeRow, lastBackup?: VolumeBackupRow) {
  const measured = (lastBackup?.verification as { bytes?: number } | null)?.bytes;
  return {
    name: volume.name,
    mountPath: volume.mountPath,
    processTypes: volume.processTypes,
    shared: volume.shared,
    dockerVolume: volume.dockerName,
    /** The bytes of its files when the last good backup read them; null until then. */
    sizeBytes: lastBackup?.state === 'good' && typeof measured === 'number' ? measured : null,
    backupSchedule: volume.backupSchedule,
    backupRetention: volume.backupRetention,
    lastBackup: lastBackup ? presentVolumeBackup(lastBackup) : null,
    createdAt: volume.createdAt.toISOString(),
  };
}

export function presentVolumeBackup(backup: VolumeBackupRow) {
  return {
    id: backup.id,
    volume: backup.volumeName,
    trigger: backup.trigger,
    state: backup.state,
    file: backup.fileName,
    sizeBytes: backup.sizeBytes,
    sha256: backup.sha256,
    verification: backup.verification,
    error: backup.error,
    scheduledFor: backup.scheduledFor?.toISOString() ?? null,
    createdAt: backup.createdAt.toISOString(),
    finishedAt: backup.finishedAt?.toISOString() ?? null,
  };
}

function presentVolumeOperation(op: VolumeOperationRow) {
  return {
    id: op.id,
    kind: op.kind,
    state: op.state,
    backupId: op.backupId,
    error: op.error,
    createdAt: op.createdAt.toISOString(),
  };
}

/**
 * An environment's persistent volumes: create, list, delete, back up and
 * restore. The API writes rows and operations; the worker creates, fills and
 * removes the Docker volumes. Creating or deleting a volume changes what the
 * replicas mount: the running image is redeployed (`redeploy: true`).
 */
export function volumeRoutes(deps: ApiDeps) {
  const { apps, environments, volumes, volumeOperations: operations } = deps;
  async function environmentOf(principal: Parameters<typeof apps.get>[0], appName: string, envName: string) {
    const app = await apps.get(principal, appName);
    return { app, env: await environments.get(app.id, envName) };
  }
  /**
   * A single-writer volume has exactly one writer: it is mounted into one
   * process type (422 naming body.processTypes), and that type runs at most
   * one replica now (409 naming body.shared): web's count is the
   * environment's `replicas`, another type's its processes row (else 1).
   */
  async function assertOneWriter(env: EnvironmentRow, volume: { shared: boolean; processTypes: readonly string[] }) {
    if (volume.shared) return;
    if (volume.processTypes.length > 1) {
      throw new ValidationError(
        'body.processTypes: a single-writer volume is mounted by one process type; set shared: true to mount it in several',
        'body.processTypes',
      );
    }
    const [type] = volume.processTypes;
    if (type === undefined) return;
    const replicas = type === 'web' ? env.replicas : ((await deps.processes.get(env.id, type))?.replicas ?? 1);
    if (replicas > 1) {
      throw new ConflictError(
        `body.shared: process type ${type} runs ${replicas} replicas, and a single-writer volume has one writer: ` +
          `scale ${type} to 1 first, or set shared: true`,
      );
    }
  }
  /** The redeploy that makes the replicas mount what they now should; null when nothing is deployed. */
  async function redeploy(appName: string, env: EnvironmentRow) {
    const deployment = await redeployWithSettings(deps, env);
    return {
      redeploy: deployment !== null,
      deployment: deployment ? presentDeployment(deployment, appName, env.name) : null,
    };
  }

  return [
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/volumes',
      summary: 'Create a persistent volume mounted into the replicas of chosen process types (redeploys the running image)',
      tag: 'volumes',
      params: envParams,
      body: createVolumeBody,
      status: 201,
      handler: async ({ params, body, principal }) => {
        const { app, env } = await environmentOf(principal, params.app, params.env);
        const wanted = { processTypes: body.processTypes ?? ['web'], shared: body.shared ?? false };
        await assertOneWriter(env, wanted);
        const volume = await volumes.create(
          { environmentId: env.id, app: app.name, env: env.name },
          { name: body.name, mountPath: body.mountPath, ...wanted },
        );
        return { ...presentVolume(volume), ...(await redeploy(app.name, env)) };
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/volumes',
      summary: 'List the environment’s volumes with their size (as the last backup measured it) and last backup',
      tag: 'volumes',
      params: envParams,
      handler: async ({ params, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const rows = await volumes.list(env.id);
        const last = await operations.lastBackups(rows.map((v) => v.id));
        return { volumes: rows.map((v) => presentVolume(v, last.get(v.id))) };
      },
    }),
    route({
      method: 'PATCH',
      url: '/apps/:app/environments/:env/volumes/:volume',
      summary:
        'Change where a volume is mounted, into which process types, or whether it is shared (redeploys the running image)',
      tag: 'volumes',
      params: volumeParams,
      body: updateVolumeBody,
      handler: async ({ params, body, principal }) => {
        const { app, env } = await environmentOf(principal, params.app, params.env);
        const current = await volumes.get(env.id, params.volume);
        await assertOneWriter(env, {
          processTypes: body.processTypes ?? current.processTypes,
          shared: body.shared ?? current.shared,
        });
        if (body.processTypes && body.processTypes.length > 0 && (await operations.restoringInto(current.id))) {
          throw new ConflictError(`volume ${current.name} is still being filled by a restore: mount it once the restore is done`);
        }
        const volume = await volumes.update(current, body);
        return { ...presentVolume(volume), ...(await redeploy(app.name, env)) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/environments/:env/volumes/:volume',
      summary:
        'Detach a volume (redeploys without it); its Docker volume is kept unless ?deleteData=true, which removes it and its backups',
      tag: 'volumes',
      params: volumeParams,
      query: deleteQuery,
      status: 202,
      handler: async ({ params, query, principal }) => {
        const { app, env } = await environmentOf(principal, params.app, params.env);
        const volume = await volumes.get(env.id, params.volume);
        const deleteData = truthy(query.deleteData);
        const op = await volumes.requestDelete(volume, { deleteData });
        return {
          volume: volume.name,
          dockerVolume: volume.dockerName,
          deleteData,
          operation: presentVolumeOperation(op),
          message: deleteData
            ? `volume ${volume.name} is detached; the worker removes its data (Docker volume ${volume.dockerName}) and backups`
            : `volume ${volume.name} is detached; its data is kept in the Docker volume ${volume.dockerName} ` +
              `(remove it with: docker volume rm ${volume.dockerName})`,
          ...(await redeploy(app.name, env)),
        };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/volumes/:volume/backups',
      summary: 'Back the volume up now (a tar with its SHA-256, verified by reading it back)',
      tag: 'volumes',
      params: volumeParams,
      status: 202,
      handler: async ({ params, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const volume = await volumes.get(env.id, params.volume);
        const made = await operations.requestBackup(volume, 'manual');
        if (!made) throw new ConflictError(`a backup of volume ${volume.name} could not be queued`);
        return presentVolumeBackup(made.backup);
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/volumes/:volume/backups',
      summary: 'The volume’s backups, newest first',
      tag: 'volumes',
      params: volumeParams,
      handler: async ({ params, principal }) => {
        const { env } = await environmentOf(principal, params.app, params.env);
        const volume = await volumes.get(env.id, params.volume);
        return { backups: (await operations.backups(volume.id)).map(presentVolumeBackup) };
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/environments/:env/volumes/:volume/restore',
      summary:
        'Restore a good backup into the volume (its replicas must be stopped: scale them to 0) or into a new volume `into`',
      tag: 'volumes',
      params: volumeParams,
      body: restoreBody,
      status: 202,
      handler: async ({ params, body, principal }) => {
        const { app, env } = await environmentOf(principal, params.app, params.env);
        const volume = await volumes.get(env.id, params.volume);
        const backup = await operations.backup(body.backupId);
        if (backup.volumeId !== volume.id) {
          throw new ConflictError(`body.backupId: backup ${backup.id} is not a backup of volume ${volume.name}`);
        }
        if (backup.state !== 'good') {
          throw new ConflictError(
            `body.backupId: backup ${backup.id} is ${backup.state}; only verified (good) backups are restored`,
          );
        }
        if (!body.into && (await volumes.activeReplicaCount(env.id, volume.processTypes)) > 0) {
          throw new ConflictError(
            `volume ${volume.name} is mounted by running replicas (${volume.processTypes.join(', ')}): scale them to 0 first, ` +
              'or restore into a new volume with `into`',
          );
        }
        const { operation, target } = await operations.requestRestore(
          { ...volume, app: app.name, env: env.name },
          backup.id,
          body.into ? { name: body.into } : undefined,
        );
        return { volume: presentVolume(target), operation: presentVolumeOperation(operation) };
      },
    }),
  ];
}
