import {
  assertAdmin,
  ConflictError,
  cronProblem,
  NotFoundError,
  SERVICE_TYPES,
  serviceContainerName,
  serviceEngine,
  serviceImage,
  serviceVersionProblem,
} from '@pier/core';
import type { BackupRow, ServiceRow, ServiceStore } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { presentBackup, presentOperation, requestRestore, restoreBody } from './backups.ts';
import { serviceName } from './service-schemas.ts';

/** Checked against its engine's versions once the type is known (below). */
const version = z.string().describe('major (or major.minor) version; the configured image at that tag');

const schedule = z
  .string()
  .max(200)
  .superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('cron expression (5 fields, UTC) of scheduled backups; default daily at 03:00');

const retention = z.number().int().min(1).max(1000).describe('verified backups kept; older ones are deleted');

const createServiceBody = z
  .strictObject({
    type: z.enum(SERVICE_TYPES),
    name: serviceName,
    version: version.optional(),
    backupSchedule: schedule.optional(),
    backupRetention: retention.optional(),
  })
  .superRefine((body, ctx) => {
    const problem = body.version === undefined ? undefined : serviceVersionProblem(body.type, body.version);
    if (problem) ctx.addIssue({ code: 'custom', path: ['version'], message: problem });
  });

const updateServiceBody = z.strictObject({ backupSchedule: schedule.optional(), backupRetention: retention.optional() });

const serviceRef = z.string().min(1).max(100).describe('service name or id');
const serviceParams = z.strictObject({ service: serviceRef });
const backupParams = z.strictObject({ service: serviceRef, backup: z.uuid() });
const revealQuery = z.strictObject({ reveal: z.enum(['true', 'false', '1', '0']).optional() });
const deleteQuery = z.strictObject({
  deleteData: z.enum(['true', 'false', '1', '0']).optional().describe('also delete the data volume and backups'),
});

const truthy = (value: string | undefined) => value === 'true' || value === '1';

export function presentService(service: ServiceRow, store: ServiceStore, reveal = false, linkedTo?: string[]) {
  const credentials = reveal ? store.credentials(service) : null;
  return {
    id: service.id,
    name: service.name,
    type: service.type,
    version: service.version,
    image: service.image,
    volume: service.volumeName,
    state: service.state,
    lastError: service.lastError,
    backupSchedule: service.backupSchedule,
    backupRetention: service.backupRetention,
    createdAt: service.createdAt.toISOString(),
    readyAt: service.readyAt?.toISOString() ?? null,
    ...(linkedTo ? { linkedTo } : {}),
    /** Reachable only from the containers of linked environments, on the service's private network. */
    connection: {
      host: serviceContainerName(service.name),
      port: serviceEngine(service.type).port,
      ...(credentials
        ? { user: credentials.user, password: credentials.password, database: credentials.database, url: store.url(service) }
        : { revealed: false }),
    },
  };
}

/** Managed Postgres and Redis: admin only (credentials of every app's data). */
export function serviceRoutes(deps: ApiDeps) {
  const { services, serviceOperations: operations } = deps;

  async function backupOf(serviceRef: string, backupId: string): Promise<{ service: ServiceRow; backup: BackupRow }> {
    const service = await services.get(serviceRef);
    const backup = await operations.backup(backupId);
    if (backup.serviceId !== service.id) throw new NotFoundError(`backup ${backupId} not found`);
    return { service, backup };
  }

  return [
    route({
      method: 'POST',
      url: '/services',
      summary: 'Create a managed Postgres or Redis (a volume, a container on a private network, generated credentials)',
      tag: 'services',
      body: createServiceBody,
      status: 202,
      handler: async ({ body, principal }) => {
        assertAdmin(principal, 'create services');
        const { image, version: resolved } = serviceImage(body.type, deps.serviceImages[body.type], body.version);
        const row = await services.create({
          name: body.name,
          type: body.type,
          version: resolved,
          image,
          backupSchedule: body.backupSchedule,
          backupRetention: body.backupRetention,
        });
        return presentService(row, services);
      },
    }),
    route({
      method: 'GET',
      url: '/services',
      summary: 'List managed services (credentials are not shown)',
      tag: 'services',
      handler: async ({ principal }) => {
        assertAdmin(principal, 'list services');
        const rows = await services.list();
        return {
          services: await Promise.all(
            rows.map(async (s) => presentService(s, services, false, await services.linkedEnvironments(s.id))),
          ),
        };
      },
    }),
    route({
      method: 'GET',
      url: '/services/:service',
      summary: 'Show a managed service; ?reveal=true adds its credentials and URL',
      tag: 'services',
      params: serviceParams,
      query: revealQuery,
      handler: async ({ params, query, principal }) => {
        assertAdmin(principal, 'show services');
        const row = await services.get(params.service);
        return presentService(row, services, truthy(query.reveal), await services.linkedEnvironments(row.id));
      },
    }),
    route({
      method: 'PATCH',
      url: '/services/:service',
      summary: 'Change the backup schedule or retention',
      tag: 'services',
      params: serviceParams,
      body: updateServiceBody,
      handler: async ({ params, body, principal }) => {
        assertAdmin(principal, 'change services');
        const row = await services.get(params.service);
        return presentService(await services.update(row.id, body), services);
      },
    }),
    route({
      method: 'DELETE',
      url: '/services/:service',
      summary: 'Delete a service (refused while linked); the data volume and backups are kept unless ?deleteData=true',
      tag: 'services',
      params: serviceParams,
      query: deleteQuery,
      status: 202,
      handler: async ({ params, query, principal }) => {
        assertAdmin(principal, 'delete services');
        const row = await services.get(params.service);
        return presentService(await services.requestDelete(row.id, truthy(query.deleteData)), services);
      },
    }),
    route({
      method: 'GET',
      url: '/services/:service/operations',
      summary: 'Recent operations (provision, backup, restore, delete) and how they ended',
      tag: 'services',
      params: serviceParams,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'show services');
        const row = await services.get(params.service);
        return { operations: (await operations.operations(row.id)).map(presentOperation) };
      },
    }),
    route({
      method: 'POST',
      url: '/services/:service/backups',
      summary: 'Back up now; the backup is verified by restoring it into a scratch container before it counts as good',
      tag: 'services',
      params: serviceParams,
      status: 202,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'back up services');
        const row = await services.get(params.service);
        if (row.state !== 'ready')
          throw new ConflictError(`service ${row.name} is ${row.state}; it can be backed up once it is ready`);
        const backup = await operations.requestBackup(row, 'manual');
        return presentBackup(backup as BackupRow);
      },
    }),
    route({
      method: 'GET',
      url: '/services/:service/backups',
      summary: 'Backups, newest first',
      tag: 'services',
      params: serviceParams,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'list backups');
        const row = await services.get(params.service);
        return { backups: (await operations.backups(row.id)).map(presentBackup) };
      },
    }),
    route({
      method: 'GET',
      url: '/services/:service/backups/:backup',
      summary: 'One backup and its verification',
      tag: 'services',
      params: backupParams,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'show backups');
        return presentBackup((await backupOf(params.service, params.backup)).backup);
      },
    }),
    route({
      method: 'POST',
      url: '/services/:service/backups/:backup/verify',
      summary: 'Verify a backup again (checksum, restore into a scratch container, tables and row counts)',
      tag: 'services',
      params: backupParams,
      status: 202,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'verify backups');
        const { backup } = await backupOf(params.service, params.backup);
        if (!backup.fileName) throw new ConflictError(`backup ${backup.id} has no file to verify`);
        return presentOperation(await operations.requestVerify(backup));
      },
    }),
    route({
      method: 'POST',
      url: '/services/:service/backups/:backup/restore',
      summary:
        'Restore a verified backup into this service, another one of the same type, or a new one (`into`); Redis restarts with it',
      tag: 'services',
      params: backupParams,
      body: restoreBody,
      status: 202,
      handler: async ({ params, body, principal }) => {
        assertAdmin(principal, 'restore backups');
        const { service, backup } = await backupOf(params.service, params.backup);
        return requestRestore(deps, backup, body.into ?? service.name);
      },
    }),
  ];
}
