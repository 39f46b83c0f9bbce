import { randomBytes } from 'node:crypto';
import { ConflictError, mountPathsOverlap, NotFoundError, volumeDockerName } from '@pier/core';
import { and, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import { VOLUME_OPS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { apps, environments, replicas, volumeBackups, volumeOperations, volumes } from '../schema.ts';
import { sqlState } from './pg-errors.ts';

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

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Named Docker volumes of environments, their backups, and the durable work
 * on them (backup, restore, delete) as rows a worker claims with a lease.
 * A volume being deleted (`deleting_at`) is no longer the environment's: it
 * is neither listed nor mounted, and its name may be taken again.
 */
export class VolumeStore {
  constructor(private readonly db: Db) {}

  /**
   * A new volume of the environment. Its name is the environment's once
   * (ConflictError), and its mount path may not overlap another volume's
   * mounted into one of the same process types (ConflictError).
   */
  async create(owner: { environmentId: string; app: string; env: string }, input: NewVolume): Promise<VolumeRow> {
    try {
      return await this.db.transaction((tx) => createVolume(tx, owner, input));
    } catch (err) {
      if (sqlState(err) === '23505') throw new ConflictError(`volume ${input.name} already exists`);
      throw err;
    }
  }

  /**
   * Changes where a volume is mounted, into which process types, or whether
   * it is shared; the same checks as `create` (ConflictError).
   */
  async update(volume: VolumeRow, change: Partial<Omit<NewVolume, 'name'>>): Promise<VolumeRow> {
    return this.db.transaction(async (tx) => {
      const others = (await lockedVolumesOf(tx, volume.environmentId)).filter((v) => v.id !== volume.id);
      assertMountFree(others, {
        mountPath: change.mountPath ?? volume.mountPath,
        processTypes: change.processTypes ?? volume.processTypes,
      });
      const set = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
      const [row] = await tx
        .update(volumes)
        .set(set)
        .where(and(eq(volumes.id, volume.id), isNull(volumes.deletingAt)))
        .returning();
      if (!row) throw new NotFoundError(`volume ${volume.name} not found`);
      return row;
    });
  }

  /** The environment's volumes (not those being deleted), by name. */
  async list(environmentId: string): Promise<VolumeRow[]> {
    return this.db
      .select()
      .from(volumes)
      .where(and(eq(volumes.environmentId, environmentId), isNull(volumes.deletingAt)))
      .orderBy(volumes.name);
  }

  /** Every volume with its app and environment, those being deleted included (the worker's scheduled backups skip them). */
  async listAll(): Promise<VolumeWithOwner[]> {
    return this.db
      .select({ volume: volumes, app: apps.name, env: environments.name })
      .from(volumes)
      .innerJoin(environments, eq(environments.id, volumes.environmentId))
      .innerJoin(apps, eq(apps.id, environments.appId))
      .then((rows) => rows.map((r) => ({ ...r.volume, app: r.app, env: r.env })));
  }

  async get(environmentId: string, name: string): Promise<VolumeRow> {
    const [row] = await this.db
      .select()
      .from(volumes)
      .where(and(eq(volumes.environmentId, environmentId), eq(volumes.name, name), isNull(volumes.deletingAt)));
    if (!row) throw new NotFoundError(`volume ${name} not found`);
    return row;
  }

  /** A volume by id with its app and environment, also while it is being deleted; null when gone. */
  async byId(id: string): Promise<VolumeWithOwner | null> {
    const [row] = await this.db
      .select({ volume: volumes, app: apps.name, env: environments.name })
      .from(volumes)
      .innerJoin(environments, eq(environments.id, volumes.environmentId))
      .innerJoin(apps, eq(apps.id, environments.appId))
      .where(eq(volumes.id, id));
    return row ? { ...row.volume, app: row.app, env: row.env } : null;
  }

  /**
   * What a replica of `processType` mounts: Docker volume name → mount path,
   * for the environment's volumes of that type that are not being deleted.
   */
  async mounts(environmentId: string, processType: string): Promise<Record<string, string>> {
    const rows = await this.db
      .select({ dockerName: volumes.dockerName, mountPath: volumes.mountPath })
      .from(volumes)
      .where(
        and(
          eq(volumes.environmentId, environmentId),
          isNull(volumes.deletingAt),
          sql`${processType} = any(${volumes.processTypes})`,
        ),
      );
    return Object.fromEntries(rows.map((r) => [r.dockerName, r.mountPath]));
  }

  /** The process types that mount a single-writer (not shared) volume: one replica each, stopped before a new one starts. */
  async singleWriterTypes(environmentId: string): Promise<string[]> {
    const rows = await this.db
      .select({ types: volumes.processTypes })
      .from(volumes)
      .where(and(eq(volumes.environmentId, environmentId), isNull(volumes.deletingAt), eq(volumes.shared, false)));
    return [...new Set(rows.flatMap((r) => r.types))].sort();
  }

  /** Replicas of the environment of these process types that are not stopped: a restore in place waits for none. */
  async activeReplicaCount(environmentId: string, processTypes: readonly string[]): Promise<number> {
    if (processTypes.length === 0) return 0;
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(replicas)
      .where(
        and(
          eq(replicas.environmentId, environmentId),
          inArray(replicas.processType, [...processTypes]),
          inArray(replicas.state, ['starting', 'serving', 'draining']),
        ),
      );
    return row?.n ?? 0;
  }

  /**
   * Detaches the volume from its environment at once (no longer listed or
   * mounted; its name is free) and queues its removal: the Docker volume
   * with `deleteData`, else only the row (the Docker volume is kept).
   */
  async requestDelete(volume: VolumeRow, options: { deleteData: boolean }): Promise<VolumeOperationRow> {
    return this.db.transaction(async (tx) => {
      const [marked] = await tx
        .update(volumes)
        .set({ deletingAt: new Date() })
        .where(and(eq(volumes.id, volume.id), isNull(volumes.deletingAt)))
        .returning({ id: volumes.id });
      if (!marked) throw new NotFoundError(`volume ${volume.name} not found`);
      return addOperation(tx, volume.id, 'delete', { options });
    });
  }

  /** Removes the volume's row (its operations go with it; its backups stay, detached). */
  async remove(id: string): Promise<void> {
    await this.db.delete(volumes).where(eq(volumes.id, id));
  }

  // ---- operations ---------------------------------------------------------------------------

  /**
   * Claims the oldest operation that is pending, or running with an expired
   * lease (its worker died), for `leaseMs`. Operations of one volume run one
   * at a time, in order.
   */
  async claimOperation(leaseMs: number): Promise<VolumeOperationRow | null> {
    const rows = await this.db.execute<{ id: string }>(sql`
      update volume_operations set state = 'running', attempts = attempts + 1,
        locked_until = now() + ${`${leaseMs} milliseconds`}::interval
      where id = (
        select o.id from volume_operations o
        where ((o.state = 'pending' and (o.locked_until is null or o.locked_until < now()))
            or (o.state = 'running' and o.locked_until < now()))
          and not exists (
            select 1 from volume_operations p
            where p.volume_id = o.volume_id and p.id <> o.id
              and ((p.created_at < o.created_at and p.state in ('pending', 'running'))
                or (p.state = 'running' and p.locked_until >= now()))
          )
        order by o.created_at
        limit 1
        for update skip locked
      )
      returning id`);
    const id = rows[0]?.id;
    if (!id) return null;
    const [row] = await this.db.select().from(volumeOperations).where(eq(volumeOperations.id, id));
    return row ?? null;
  }

  async renewOperation(id: string, leaseMs: number): Promise<void> {
    await this.db
      .update(volumeOperations)
      .set({ lockedUntil: new Date(Date.now() + leaseMs) })
      .where(and(eq(volumeOperations.id, id), eq(volumeOperations.state, 'running')));
  }

  /** Puts a failed operation back, to be claimed again no sooner than `delayMs` from now. */
  async retryOperation(id: string, delayMs: number, error: string): Promise<void> {
    await this.db
      .update(volumeOperations)
      .set({ state: 'pending', error, lockedUntil: new Date(Date.now() + delayMs) })
      .where(eq(volumeOperations.id, id));
  }

  async finishOperation(id: string, error?: string): Promise<void> {
    await this.db
      .update(volumeOperations)
      .set({ state: error ? 'failed' : 'done', error: error ?? null, finishedAt: new Date(), lockedUntil: null })
      .where(eq(volumeOperations.id, id));
  }

  async operation(id: string): Promise<VolumeOperationRow | null> {
    const [row] = await this.db.select().from(volumeOperations).where(eq(volumeOperations.id, id));
    return row ?? null;
  }

  async operations(volumeId: string, limit = 20): Promise<VolumeOperationRow[]> {
    return this.db
      .select()
      .from(volumeOperations)
      .where(eq(volumeOperations.volumeId, volumeId))
      .orderBy(desc(volumeOperations.createdAt))
      .limit(limit);
  }

  // ---- backups and restores -----------------------------------------------------------------

  /** A pending backup and the operation that makes it; a scheduled slot is taken once (null when already taken). */
  async requestBackup(
    volume: VolumeRow,
    trigger: 'manual' | 'scheduled',
    scheduledFor?: Date,
  ): Promise<{ backup: VolumeBackupRow; operation: VolumeOperationRow } | null> {
    return this.db.transaction(async (tx) => {
      const [backup] = await tx
        .insert(volumeBackups)
        .values({
          volumeId: volume.id,
          environmentId: volume.environmentId,
          volumeName: volume.name,
          trigger,
          scheduledFor: scheduledFor ?? null,
        })
        .onConflictDoNothing()
        .returning();
      if (!backup) return null;
      const operation = await addOperation(tx, volume.id, 'backup', { backupId: backup.id });
      return { backup, operation };
    });
  }

  /**
   * A restore of a good backup of `volume`: into the volume itself, or into
   * a fresh volume `into` of the same environment, made here (the source's
   * mount path, mounted into no process type until `update` says so) and
   * filled by the worker.
   */
  async requestRestore(
    volume: VolumeWithOwner,
    backupId: string,
    into?: { name: string },
  ): Promise<{ operation: VolumeOperationRow; target: VolumeRow }> {
    try {
      return await this.db.transaction(async (tx) => {
        const target = into
          ? await createVolume(
              tx,
              { environmentId: volume.environmentId, app: volume.app, env: volume.env },
              { name: into.name, mountPath: volume.mountPath, processTypes: [], shared: volume.shared },
            )
          : volume;
        const operation = await addOperation(tx, volume.id, 'restore', {
          backupId,
          options: into ? { intoVolumeId: target.id } : {},
        });
        return { operation, target };
      });
    } catch (err) {
      if (sqlState(err) === '23505') throw new ConflictError(`volume ${into?.name} already exists`);
      if (sqlState(err) === '23503') throw new NotFoundError(`backup ${backupId} not found`);
      throw err;
    }
  }

  async backup(id: string): Promise<VolumeBackupRow> {
    const [row] = await this.db
      .select()
      .from(volumeBackups)
      .where(and(eq(volumeBackups.id, id), isNull(volumeBackups.deletedAt)));
    if (!row) throw new NotFoundError(`backup ${id} not found`);
    return row;
  }

  async backups(volumeId: string, limit = 100): Promise<VolumeBackupRow[]> {
    return this.db
      .select()
      .from(volumeBackups)
      .where(and(eq(volumeBackups.volumeId, volumeId), isNull(volumeBackups.deletedAt)))
      .orderBy(desc(volumeBackups.createdAt), desc(volumeBackups.id))
      .limit(limit);
  }

  /** The newest backup of each of these volumes (for listings). */
  async lastBackups(volumeIds: readonly string[]): Promise<Map<string, VolumeBackupRow>> {
    if (volumeIds.length === 0) return new Map();
    const rows = await this.db
      .selectDistinctOn([volumeBackups.volumeId])
      .from(volumeBackups)
      .where(and(inArray(volumeBackups.volumeId, [...volumeIds]), isNull(volumeBackups.deletedAt)))
      .orderBy(volumeBackups.volumeId, desc(volumeBackups.createdAt));
    return new Map(rows.map((r) => [r.volumeId as string, r]));
  }

  async updateBackup(id: string, change: Partial<Omit<VolumeBackupRow, 'id' | 'volumeId'>>): Promise<void> {
    await this.db.update(volumeBackups).set(change).where(eq(volumeBackups.id, id));
  }

  /** Good backups beyond the newest `keep`, and failed ones older than a day: removed from the table and returned (for their files). */
  async pruneBackups(volumeId: string, keep: number): Promise<VolumeBackupRow[]> {
    const mine = eq(volumeBackups.volumeId, volumeId);
    const good = await this.db
      .select()
      .from(volumeBackups)
      .where(and(mine, eq(volumeBackups.state, 'good')))
      .orderBy(desc(volumeBackups.createdAt), desc(volumeBackups.id));
    const failedOld = await this.db
      .select()
      .from(volumeBackups)
      .where(and(mine, eq(volumeBackups.state, 'failed'), lt(volumeBackups.createdAt, new Date(Date.now() - 24 * 3600_000))));
    const doomed = [...good.slice(keep), ...failedOld];
    if (doomed.length > 0) {
      await this.db.delete(volumeBackups).where(
        inArray(
          volumeBackups.id,
          doomed.map((b) => b.id),
        ),
      );
    }
    return doomed;
  }

  /** Backups the volume had not finished when it was deleted: failed, saying why. */
  async failUnfinishedBackups(volumeId: string): Promise<void> {
    await this.db
      .update(volumeBackups)
      .set({ state: 'failed', error: 'the volume was deleted before this backup finished', finishedAt: new Date() })
      .where(and(eq(volumeBackups.volumeId, volumeId), inArray(volumeBackups.state, ['pending', 'running', 'verifying'])));
  }

  /** Every backup record of the volume (with `deleteData`, their files go with it). */
  async allBackupRecordsOf(volumeId: string): Promise<VolumeBackupRow[]> {
    return this.db.select().from(volumeBackups).where(eq(volumeBackups.volumeId, volumeId));
  }

  async deleteBackupsOf(volumeId: string): Promise<void> {
    await this.db.delete(volumeBackups).where(eq(volumeBackups.volumeId, volumeId));
  }

  /** When the last scheduled backup slot of the volume was. */
  async lastScheduledSlot(volumeId: string): Promise<Date | null> {
    const [row] = await this.db
      .select({ at: sql<Date | null>`max(${volumeBackups.scheduledFor})` })
      .from(volumeBackups)
      .where(eq(volumeBackups.volumeId, volumeId));
    return row?.at ? new Date(row.at) : null;
  }
}

/** Inserts a volume under a lock on its environment, refusing a mount path that overlaps one of the same process types. */
async function createVolume(
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
async function lockedVolumesOf(tx: Tx, environmentId: string): Promise<VolumeRow[]> {
  await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, environmentId)).for('update');
  return tx
    .select()
    .from(volumes)
    .where(and(eq(volumes.environmentId, environmentId), isNull(volumes.deletingAt)));
}

/** Refuses a mount path that overlaps one of `others` mounted into one of the same process types. */
function assertMountFree(others: readonly VolumeRow[], mount: Pick<NewVolume, 'mountPath' | 'processTypes'>): void {
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
async function addOperation(
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
