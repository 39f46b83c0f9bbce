import { assertAdmin, ConflictError, NotFoundError, serviceImage, ValidationError } from '@pier/core';
import type { BackupRow, OperationRow } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { serviceName } from './service-schemas.ts';

export function presentBackup(backup: BackupRow) {
  return {
    id: backup.id,
    /** The service it was made of: its name and type stay when that service is deleted. */
    service: backup.serviceName,
    type: backup.serviceType,
    version: backup.serviceVersion,
    serviceDeleted: backup.serviceId === null,
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

export function presentOperation(op: OperationRow) {
  return {
    id: op.id,
    kind: op.kind,
    state: op.state,
    backupId: op.backupId,
    attempts: op.attempts,
    error: op.error,
    createdAt: op.createdAt.toISOString(),
    finishedAt: op.finishedAt?.toISOString() ?? null,
  };
}

export const restoreBody = z.strictObject({
  into: serviceName
    .optional()
    .describe(
      'service to restore into: the backup’s own (default, while it exists), another of the same type, or a new one created for it',
    ),
});

/**
 * Queues the restore of a verified backup into `into` (default: the backup's
 * own service): an existing service of the same type, or a new one of the
 * backup's type and version, made for it. Returns the target's name and the
 * restore operation (the worker checks the file's SHA-256 again first).
 */
export async function requestRestore(deps: ApiDeps, backup: BackupRow, into: string | undefined) {
  const { services, serviceOperations: operations } = deps;
  if (backup.state !== 'good') {
    throw new ConflictError(`backup ${backup.id} is ${backup.state}; only verified (good) backups are restored`);
  }
  const own = backup.serviceId ? await services.byId(backup.serviceId) : null;
  if (!into && !own) {
    throw new ValidationError(
      `body.into: the service ${backup.serviceName} was deleted; name a ${backup.serviceType} service (or a new name) to restore into`,
      'body.into',
    );
  }
  const target =
    own && (!into || into === own.name)
      ? own
      : await services.get(into as string).catch(async (err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
          const type = backup.serviceType;
          // The backup's own image while its service exists; else the configured one at the backup's version.
          const { image, version } = own ?? serviceImage(type, deps.serviceImages[type], backup.serviceVersion);
          return services.create({ name: into as string, type, version, image });
        });
  if (target.type !== backup.serviceType) {
    throw new ValidationError(
      `body.into: ${target.name} is ${target.type}; a ${backup.serviceType} backup needs a ${backup.serviceType}`,
      'body.into',
    );
  }
  const op = await operations.requestRestore(target.id, backup.id);
  return { service: target.name, operation: presentOperation(op) };
}

const backupParams = z.strictObject({ backup: z.uuid() });
const listQuery = z.strictObject({
  service: z.string().min(1).max(100).optional().describe('only backups made of services of this name, deleted ones included'),
  limit: z.coerce.number().int().min(1).max(500).optional().describe('at most this many (default 100)'),
  before: z.uuid().optional().describe('the id of the last backup shown: the next page starts after it'),
});

/**
 * Every backup, those of deleted services included (a service deleted without
 * `deleteData` keeps its backups): list, show, restore into another service.
 * Admin only, like the services.
 */
export function backupRoutes(deps: ApiDeps) {
  const { serviceOperations: operations } = deps;
  return [
    route({
      method: 'GET',
      url: '/backups',
      summary:
        'Every backup, newest first, also those of deleted services; ?service=<name> for one name, ?limit (100) and ?before=<id of the last shown> to page',
      tag: 'services',
      query: listQuery,
      handler: async ({ query, principal }) => {
        assertAdmin(principal, 'list backups');
        const rows = await operations.allBackups({
          ...(query.service ? { serviceName: query.service } : {}),
          ...(query.limit ? { limit: query.limit } : {}),
          ...(query.before ? { before: query.before } : {}),
        });
        return { backups: rows.map(presentBackup) };
      },
    }),
    route({
      method: 'GET',
      url: '/backups/:backup',
      summary: 'One backup, also of a deleted service',
      tag: 'services',
      params: backupParams,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'show backups');
        return presentBackup(await operations.backup(params.backup));
      },
    }),
    route({
      method: 'DELETE',
      url: '/backups/:backup',
      summary:
        'Delete a backup (also of a deleted service); the worker removes its file. Refused while a restore or verification uses it',
      tag: 'services',
      params: backupParams,
      status: 204,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'delete backups');
        await operations.deleteBackup(params.backup);
      },
    }),
    route({
      method: 'POST',
      url: '/backups/:backup/restore',
      summary:
        'Restore a verified backup into its own service, another of the same type, or a new one (`into`, required once its service is deleted)',
      tag: 'services',
      params: backupParams,
      body: restoreBody,
      status: 202,
      handler: async ({ params, body, principal }) => {
        assertAdmin(principal, 'restore backups');
        return requestRestore(deps, await operations.backup(params.backup), body.into);
      },
    }),
  ];
}
