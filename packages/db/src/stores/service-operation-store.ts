import { ConflictError, NotFoundError, serviceEngine } from '@pier/core';
import { and, desc, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { SERVICE_OPS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { managedServices, serviceBackups, serviceOperations } from '../schema.ts';
import { recordBackupEvent } from './backup-event-log.ts';
import { claimNextOperation } from './operation-claim.ts';
import { sqlState } from './pg-errors.ts';

export type BackupRow = typeof serviceBackups.$inferSelect;
export type OperationRow = typeof serviceOperations.$inferSelect;
export type OperationKind = OperationRow['kind'];
type ServiceRef = Pick<typeof managedServices.$inferSelect, 'id' | 'name' | 'type' | 'version'>;

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * The durable work on managed services — provision, backup, restore, delete —
 * as rows a worker claims with a lease, and the backups it makes.
 */
export class ServiceOperationStore {
  constructor(private readonly db: Db) {}

  /**
   * Queues a provision of a service whose container was seen gone or stopped,
   * unless something changed since it was seen: it is no longer `expectState`,
   * its container is no longer `observedContainerId` (a re-creation just
   * finished), or an operation is pending or running. True when queued.
   */
  async requestReprovision(
    serviceId: string,
    observedContainerId: string | null,
    expectState: (typeof managedServices.$inferSelect)['state'],
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(managedServices).where(eq(managedServices.id, serviceId)).for('update');
      if (!row || row.state !== expectState || row.containerId !== observedContainerId) return false;
      const [active] = await tx
        .select({ id: serviceOperations.id })
        .from(serviceOperations)
        .where(and(eq(serviceOperations.serviceId, serviceId), inArray(serviceOperations.state, ['pending', 'running'])))
        .limit(1);
      if (active) return false;
      await addOperation(tx, serviceId, 'provision');
      return true;
    });
  }

  /**
   * Queues a `roles` operation for the service (of an engine with link roles)
   * unless one is pending or running, or one failed less than `retryAfterMs` ago. True when queued.
   */
  async requestRoleSync(serviceId: string, retryAfterMs = 30_000): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(managedServices).where(eq(managedServices.id, serviceId)).for('update');
      if (!row || !serviceEngine(row.type).linkRoles || !['provisioning', 'ready'].includes(row.state)) return false;
      const [busy] = await tx
        .select({ id: serviceOperations.id })
        .from(serviceOperations)
        .where(
          and(
            eq(serviceOperations.serviceId, serviceId),
            eq(serviceOperations.kind, 'roles'),
            sql`(${serviceOperations.state} in ('pending', 'running')
              or (${serviceOperations.state} = 'failed' and ${serviceOperations.finishedAt} > now() - ${`${retryAfterMs} milliseconds`}::interval))`,
          ),
        )
        .limit(1);
      if (busy) return false;
      await addOperation(tx, serviceId, 'roles');
      return true;
    });
  }

  async addOperation(
    serviceId: string,
    kind: OperationKind,
    extra: { backupId?: string; options?: object } = {},
  ): Promise<OperationRow> {
    try {
      return await this.db.transaction((tx) => addOperation(tx, serviceId, kind, extra));
    } catch (err) {
      // The service or the backup was deleted meanwhile (a foreign key refused the operation).
      if (sqlState(err) === '23503') {
        throw new NotFoundError(extra.backupId ? 'backup or service not found' : 'service not found');
      }
      throw err;
    }
  }

  /**
   * Claims the oldest operation that is pending, or running with an expired
   * lease (its worker died), for `leaseMs`. Operations of one service run one
   * at a time, in order.
   */
  async claimOperation(leaseMs: number): Promise<OperationRow | null> {
    const id = await claimNextOperation(this.db, 'service_operations', 'service_id', leaseMs);
    if (!id) return null;
    const [row] = await this.db.select().from(serviceOperations).where(eq(serviceOperations.id, id));
    return row ?? null;
  }

  async renewOperation(id: string, leaseMs: number): Promise<void> {
    await this.db
      .update(serviceOperations)
      .set({ lockedUntil: new Date(Date.now() + leaseMs) })
      .where(and(eq(serviceOperations.id, id), eq(serviceOperations.state, 'running')));
  }

  /** Puts a failed operation back, to be claimed again no sooner than `delayMs` from now (the same row: no pile-up). */
  async retryOperation(id: string, delayMs: number, error: string): Promise<void> {
    await this.db
      .update(serviceOperations)
      .set({ state: 'pending', error, lockedUntil: new Date(Date.now() + delayMs) })
      .where(eq(serviceOperations.id, id));
  }

  async finishOperation(id: string, error?: string): Promise<void> {
    await this.db
      .update(serviceOperations)
      .set({ state: error ? 'failed' : 'done', error: error ?? null, finishedAt: new Date(), lockedUntil: null })
      .where(eq(serviceOperations.id, id));
  }

  async operations(serviceId: string, limit = 20): Promise<OperationRow[]> {
    return this.db
      .select()
      .from(serviceOperations)
      .where(eq(serviceOperations.serviceId, serviceId))
      .orderBy(desc(serviceOperations.createdAt))
      .limit(limit);
  }

  // ---- backups ------------------------------------------------------------------------------

  /** A pending backup and the operation that makes it; a scheduled slot is taken once (null when already taken). */
  async requestBackup(
    service: ServiceRef,
    trigger: 'manual' | 'scheduled' | 'release',
    scheduledFor?: Date,
  ): Promise<BackupRow | null> {
    return this.db.transaction(async (tx) => {
      const [backup] = await tx
        .insert(serviceBackups)
        .values({
          serviceId: service.id,
          serviceName: service.name,
          serviceType: service.type,
          serviceVersion: service.version,
          trigger,
          scheduledFor: scheduledFor ?? null,
        })
        .onConflictDoNothing()
        .returning();
      if (!backup) return null;
      await addOperation(tx, service.id, 'backup', { backupId: backup.id });
      return backup;
    });
  }

  /** A restore of `backupId` into `serviceId` (the same service or another of the same type). */
  async requestRestore(serviceId: string, backupId: string): Promise<OperationRow> {
    return this.addOperation(serviceId, 'restore', { backupId });
  }

  /** A re-verification of an existing backup (its file may have changed on disk). */
  async requestVerify(backup: BackupRow): Promise<OperationRow> {
    if (!backup.serviceId) {
      throw new ConflictError(
        `backup ${backup.id} is of the deleted service ${backup.serviceName}; a restore into another service checks it again`,
      );
    }
    return this.addOperation(backup.serviceId, 'backup', { backupId: backup.id, options: { verifyOnly: true } });
  }

  /** A backup; one deleted through the API is not found. */
  async backup(id: string): Promise<BackupRow> {
    const [row] = await this.db
      .select()
      .from(serviceBackups)
      .where(and(eq(serviceBackups.id, id), isNull(serviceBackups.deletedAt)));
    if (!row) throw new NotFoundError(`backup ${id} not found`);
    return row;
  }

  async backups(serviceId: string, limit = 100): Promise<BackupRow[]> {
    return this.db
      .select()
      .from(serviceBackups)
      .where(and(eq(serviceBackups.serviceId, serviceId), isNull(serviceBackups.deletedAt)))
      .orderBy(desc(serviceBackups.createdAt), desc(serviceBackups.id))
      .limit(limit);
  }

  /** Every record of the service's backups, deleted ones included: their files go with the service's data. */
  async allBackupRecordsOf(serviceId: string): Promise<BackupRow[]> {
    return this.db.select().from(serviceBackups).where(eq(serviceBackups.serviceId, serviceId));
  }

  /**
   * Backups, newest first: of one service name (deleted services' included)
   * with `serviceName`; after the backup `before` (the last of the page shown).
   */
  async allBackups(options: { serviceName?: string; limit?: number; before?: string } = {}): Promise<BackupRow[]> {
    const cursor = options.before ? await this.backup(options.before) : undefined;
    return this.db
      .select()
      .from(serviceBackups)
      .where(
        and(
          isNull(serviceBackups.deletedAt),
          options.serviceName ? eq(serviceBackups.serviceName, options.serviceName) : undefined,
          // The cursor's time from the row itself: Postgres keeps microseconds, a Date only milliseconds.
          cursor
            ? sql`(${serviceBackups.createdAt}, ${serviceBackups.id}) <
                (select created_at, id from service_backups where id = ${cursor.id})`
            : undefined,
        ),
      )
      .orderBy(desc(serviceBackups.createdAt), desc(serviceBackups.id))
      .limit(options.limit ?? 100);
  }

  /**
   * When a service is deleted but its data kept: the backups it had not
   * finished fail (their operations go with it); a good one whose second
   * verification was cut short is good again (it was verified once).
   */
  async failUnfinishedBackups(serviceId: string): Promise<void> {
    const mine = eq(serviceBackups.serviceId, serviceId);
    await this.db
      .update(serviceBackups)
      .set({ state: 'good' })
      .where(and(mine, eq(serviceBackups.state, 'verifying'), sql`${serviceBackups.verification} ? 'verifiedAt'`));
    await this.db
      .update(serviceBackups)
      .set({ state: 'failed', error: 'the service was deleted before this backup finished', finishedAt: new Date() })
      .where(and(mine, inArray(serviceBackups.state, ['pending', 'running', 'verifying'])));
  }

  /**
   * Deletes a backup: hidden at once, its file removed by a worker, which then
   * drops the record (`deletedBackups`, `forgetBackup`). Refused while an
   * operation that uses it is pending or running.
   */
  async deleteBackup(id: string): Promise<BackupRow> {
    return this.db.transaction(async (tx) => {
      const [backup] = await tx
        .select()
        .from(serviceBackups)
        .where(and(eq(serviceBackups.id, id), isNull(serviceBackups.deletedAt)))
        .for('update');
      if (!backup) throw new NotFoundError(`backup ${id} not found`);
      const [busy] = await tx
        .select({ kind: serviceOperations.kind })
        .from(serviceOperations)
        .where(and(eq(serviceOperations.backupId, id), inArray(serviceOperations.state, ['pending', 'running'])))
        .limit(1);
      if (busy) throw new ConflictError(`backup ${id} is in use by a ${busy.kind} operation; delete it once that has finished`);
      await tx.update(serviceBackups).set({ deletedAt: new Date() }).where(eq(serviceBackups.id, id));
      return backup;
    });
  }

  /** Backups deleted through the API whose files are still to be removed. */
  async deletedBackups(limit = 100): Promise<BackupRow[]> {
    return this.db.select().from(serviceBackups).where(isNotNull(serviceBackups.deletedAt)).limit(limit);
  }

  /** Drops a deleted backup's record once its file is gone. */
  async forgetBackup(id: string): Promise<void> {
    await this.db.delete(serviceBackups).where(and(eq(serviceBackups.id, id), isNotNull(serviceBackups.deletedAt)));
  }

  /** When a service is deleted with its data, once their files are gone: its backups' records. */
  async deleteBackupsOf(serviceId: string): Promise<void> {
    await this.db.delete(serviceBackups).where(eq(serviceBackups.serviceId, serviceId));
  }

  async updateBackup(id: string, change: Partial<Omit<BackupRow, 'id' | 'serviceId'>>): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.update(serviceBackups).set(change).where(eq(serviceBackups.id, id));
      if (change.state === 'good' || change.state === 'failed') await recordBackupEvent(tx, 'service', id);
    });
  }

  /** Good backups beyond the newest `keep`, and failed ones older than a day: removed from the table and returned (for their files). */
  async pruneBackups(serviceId: string, keep: number): Promise<BackupRow[]> {
    const good = await this.db
      .select()
      .from(serviceBackups)
      .where(and(eq(serviceBackups.serviceId, serviceId), eq(serviceBackups.state, 'good'), isNull(serviceBackups.deletedAt)))
      .orderBy(desc(serviceBackups.createdAt));
    const failedOld = await this.db
      .select()
      .from(serviceBackups)
      .where(
        and(
          eq(serviceBackups.serviceId, serviceId),
          eq(serviceBackups.state, 'failed'),
          lt(serviceBackups.createdAt, new Date(Date.now() - 24 * 3600_000)),
        ),
      );
    const doomed = [...good.slice(keep), ...failedOld];
    if (doomed.length > 0) {
      await this.db.delete(serviceBackups).where(
        inArray(
          serviceBackups.id,
          doomed.map((b) => b.id),
        ),
      );
    }
    return doomed;
  }

  /** When the last scheduled backup slot of the service was. */
  async lastScheduledSlot(serviceId: string): Promise<Date | null> {
    const [row] = await this.db
      .select({ at: sql<Date | null>`max(${serviceBackups.scheduledFor})` })
      .from(serviceBackups)
      .where(eq(serviceBackups.serviceId, serviceId));
    return row?.at ? new Date(row.at) : null;
  }
}

/** Queues an operation in `tx` and wakes the workers (NOTIFY). */
export async function addOperation(
  tx: Tx,
  serviceId: string,
  kind: OperationKind,
  extra: { backupId?: string; options?: object } = {},
): Promise<OperationRow> {
  const [row] = await tx
    .insert(serviceOperations)
    .values({ serviceId, kind, backupId: extra.backupId ?? null, options: extra.options ?? {} })
    .returning();
  await tx.execute(sql`select pg_notify(${SERVICE_OPS_CHANNEL}, ${serviceId})`);
  return row as OperationRow;
}
