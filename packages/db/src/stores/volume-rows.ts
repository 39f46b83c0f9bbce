import { randomBytes } from 'node:crypto';
import { ConflictError, mountPathsOverlap, volumeDockerName } from '@pier/core';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { VOLUME_OPS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { environments, type volumeBackups, volumeOperations, volumes } from '../schema.ts';

export type VolumeRow = typeof volumes.$inferSelect;
export type VolumeBackupRow = typeof volumeBackups.$inferSelect;
export type VolumeOperationRow = typeof volumeOperations.$inferSelect;
export type VolumeOperationKind = 'backup' | 'restore' | 'delete';
/** A volume with the names of its app and environment (for labels and backup paths). */
export type VolumeWithOwner = VolumeRow & { app: string; env: string };

export interface NewVolume {
  name: string;
  mountPath: string;
  processTypes: string[];
  shared: boolean;
}

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Inserts a volume under a lock on its environment, refusing a mount path that overlaps one of the same process types. */
export async function createVolume(
  tx: Tx,
  owner: { environmentId: string; app: string; env: string },
  input: NewVolume,
): Promise<VolumeRow> {
  const others = await lockedVolumesOf(tx, owner.environmentId);
  if (others.some((v) => v.name === input.name)) throw new ConflictError(`volume ${input.name} already exists`);
  assertMountFree(others, input);
  const dockerName = volumeDockerName(owner.app, owner.env, input.name, randomBytes(3).toString('hex'));
  const [row] = await tx
    .insert(volumes)
    .values({ environmentId: owner.environmentId, ...input, dockerName })
    .returning();
  // The volume operator makes the Docker volume, labelled, before a replica mounts it (Docker would make it unlabelled).
  await tx.execute(sql`select pg_notify(${VOLUME_OPS_CHANNEL}, ${(row as VolumeRow).id})`);
  return row as VolumeRow;
}

/** The environment's volumes (not being deleted), with the environment locked until `tx` ends: one change at a time. */
export async function lockedVolumesOf(tx: Tx, environmentId: string): Promise<VolumeRow[]> {
  await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, environmentId)).for('update');
  return tx
    .select()
    .from(volumes)
    .where(and(eq(volumes.environmentId, environmentId), isNull(volumes.deletingAt)));
}

/** Refuses a mount path that overlaps one of `others` mounted into one of the same process types. */
export function assertMountFree(others: readonly VolumeRow[], mount: Pick<NewVolume, 'mountPath' | 'processTypes'>): void {
  const clash = others.find(
    (v) => v.processTypes.some((t) => mount.processTypes.includes(t)) && mountPathsOverlap(v.mountPath, mount.mountPath),
  );
  if (clash) {
    throw new ConflictError(
      `body.mountPath: ${mount.mountPath} overlaps ${clash.mountPath}, where volume ${clash.name} is already mounted`,
    );
  }
}

/** Queues an operation in `tx` and wakes the workers (NOTIFY). */
export async function addVolumeOperation(
  tx: Tx,
  volumeId: string,
  kind: VolumeOperationKind,
  extra: { backupId?: string; options?: object } = {},
): Promise<VolumeOperationRow> {
  const [row] = await tx
    .insert(volumeOperations)
    .values({ volumeId, kind, backupId: extra.backupId ?? null, options: extra.options ?? {} })
    .returning();
  await tx.execute(sql`select pg_notify(${VOLUME_OPS_CHANNEL}, ${volumeId})`);
  return row as VolumeOperationRow;
}
