import { ConflictError, NotFoundError } from '@pier/core';
import { and, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { volumeBackups, volumeOperations } from '../schema.ts';
import { recordBackupEvent } from './backup-event-log.ts';
import { claimNextOperation } from './operation-claim.ts';
import { sqlState } from './pg-errors.ts';
import {
  addVolumeOperation,
  createVolume,
  type VolumeBackupRow,
  type VolumeOperationRow,
  type VolumeRow,
  type VolumeWithOwner,
} from './volume-rows.ts';

/** A claimed operation as its holder knows it: `attempts` (incremented by each claim) fences out an earlier holder. */
export type OperationClaim = Pick<VolumeOperationRow, 'id' | 'attempts'>;

/** The operation is still running under this claim. */
function held(claim: OperationClaim) {
  return and(
    eq(volumeOperations.id, claim.id),
    eq(volumeOperations.state, 'running'),
    eq(volumeOperations.attempts, claim.attempts),
  );
}

/**
 * The durable work on app volumes (backup, restore, delete) as rows a worker
 * claims with a lease, and the backups it makes.
 */
export class VolumeOperationStore {
  constructor(private readonly db: Db) {}

  /**
   * Claims the oldest operation that is pending, or running with an expired
   * lease (its worker died), for `leaseMs`. Operations of one volume run one
   * at a time, in order.
   */
  async claimOperation(leaseMs: number): Promise<VolumeOperationRow | null> {
    const id = await claimNextOperation(this.db, 'volume_operations', 'volume_id', leaseMs);
    if (!id) return null;
    const [row] = await this.db.select().from(volumeOperations).where(eq(volumeOperations.id, id));
    return row ?? null;
  }

  /**
   * Extends the lease of an operation this worker still holds: the claim's
   * `attempts` is its fencing token (a later claim increments it). False
   * when the lease was lost: the caller stops and writes nothing more.
   */
  async renewOperation(claim: OperationClaim, leaseMs: number): Promise<boolean> {
    const rows = await this.db
      .update(volumeOperations)
      .set({ lockedUntil: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
      .where(held(claim))
      .returning({ id: volumeOperations.id });
    return rows.length > 0;
  }

  /** Puts a failed operation back, to be claimed again no sooner than `delayMs` from now; false when the lease was lost. */
  async retryOperation(claim: OperationClaim, delayMs: number, error: string): Promise<boolean> {
    const rows = await this.db
      .update(volumeOperations)
      .set({ state: 'pending', error, lockedUntil: sql`now() + ${`${delayMs} milliseconds`}::interval` })
      .where(held(claim))
      .returning({ id: volumeOperations.id });
    return rows.length > 0;
  }

  /** Marks the operation done (or failed with `error`); false when the lease was lost. */
  async finishOperation(claim: OperationClaim, error?: string): Promise<boolean> {
    const rows = await this.db
      .update(volumeOperations)
      .set({ state: error ? 'failed' : 'done', error: error ?? null, finishedAt: new Date(), lockedUntil: null })
      .where(held(claim))
      .returning({ id: volumeOperations.id });
    return rows.length > 0;
  }

  /** Whether a restore into this volume (a new one, `into`) is pending or running: it is being filled. */
  async restoringInto(volumeId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: volumeOperations.id })
      .from(volumeOperations)
      .where(
        and(
          eq(volumeOperations.kind, 'restore'),
          inArray(volumeOperations.state, ['pending', 'running']),
          sql`${volumeOperations.options}->>'intoVolumeId' = ${volumeId}`,
        ),
      )
      .limit(1);
    return row !== undefined;
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
      const operation = await addVolumeOperation(tx, volume.id, 'backup', { backupId: backup.id });
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
        const operation = await addVolumeOperation(tx, volume.id, 'restore', {
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
    await this.db.transaction(async (tx) => {
      await tx.update(volumeBackups).set(change).where(eq(volumeBackups.id, id));
      if (change.state === 'good' || change.state === 'failed') await recordBackupEvent(tx, 'volume', id);
    });
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
