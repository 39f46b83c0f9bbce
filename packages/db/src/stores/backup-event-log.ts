import { backupEvent } from '@pier/core';
import { eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps, environments, managedServices, serviceBackups, volumeBackups, volumes } from '../schema.ts';
import { recordEventIn } from './deployment-event-log.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Records a backup's outcome (`backup.succeeded` or `backup.failed`, core's
 * `backupEvent`) in `tx`, once its state became `good` or `failed`: the
 * stores' `updateBackup` is where every backup (scheduled, manual, before a
 * release command, verified again) ends, so none is missed.
 */
export async function recordBackupEvent(tx: Tx, of: 'service' | 'volume', backupId: string): Promise<void> {
  const row = of === 'volume' ? await volumeBackupFacts(tx, backupId) : await serviceBackupFacts(tx, backupId);
  if (!row || (row.state !== 'good' && row.state !== 'failed')) return;
  await recordEventIn(tx, backupEvent({ ...row, of, backupId, state: row.state }));
}

async function volumeBackupFacts(tx: Tx, backupId: string) {
  const [row] = await tx
    .select({
      name: volumeBackups.volumeName,
      trigger: volumeBackups.trigger,
      state: volumeBackups.state,
      error: volumeBackups.error,
      sizeBytes: volumeBackups.sizeBytes,
      appId: apps.id,
      appName: apps.name,
      environmentId: environments.id,
      envName: environments.name,
    })
    .from(volumeBackups)
    .leftJoin(volumes, eq(volumes.id, volumeBackups.volumeId))
    .leftJoin(environments, eq(environments.id, volumeBackups.environmentId))
    .leftJoin(apps, eq(apps.id, environments.appId))
    .where(eq(volumeBackups.id, backupId));
  return row;
}

async function serviceBackupFacts(tx: Tx, backupId: string) {
  const [row] = await tx
    .select({
      name: serviceBackups.serviceName,
      trigger: serviceBackups.trigger,
      state: serviceBackups.state,
      error: serviceBackups.error,
      sizeBytes: serviceBackups.sizeBytes,
      appId: apps.id,
      appName: apps.name,
      environmentId: environments.id,
      envName: environments.name,
    })
    .from(serviceBackups)
    .leftJoin(managedServices, eq(managedServices.id, serviceBackups.serviceId))
    .leftJoin(environments, eq(environments.id, managedServices.ownerEnvironmentId))
    .leftJoin(apps, eq(apps.id, environments.appId))
    .where(eq(serviceBackups.id, backupId));
  return row;
}
