import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ContainerOperations, LABEL_VOLUME, latestDueSlot, PassLoop, parseCron, volumeLabels } from '@pier/core';
import {
  listenTo,
  VOLUME_OPS_CHANNEL,
  type VolumeOperationRow,
  type VolumeOperationStore,
  type VolumeStore,
  type VolumeWithOwner,
} from '@pier/db';
import type { Logger } from '@pier/log';
import type postgres from 'postgres';
import { lastLine } from '../services/service-commands.ts';
import { VolumeBackups, VolumeBusyError } from './volume-backups.ts';
import { HELPER_ROLES } from './volume-helper-spec.ts';

export interface VolumeOperatorOptions {
  volumes: VolumeStore;
  /** Their backups and operations. */
  operations: VolumeOperationStore;
  containers: ContainerOperations;
  sql: postgres.Sql;
  logger: Logger;
  instance: string;
  /** The helper containers' image (PIER_IMAGE_VOLUME_TOOLS). */
  image: string;
  /** Backup files live here (PIER_BACKUP_DIR), under `volumes/`. */
  backupDirectory: string;
  /** How often pending operations are looked for besides NOTIFY. */
  pollIntervalMs?: number;
  /** How often Docker volumes are checked and due scheduled backups queued. */
  reconcileIntervalMs?: number;
  /** How long a claimed operation is held before another worker may take it over. */
  leaseMs?: number;
  /** How long a restore waits before it looks again for containers still mounting its volume. */
  busyRetryMs?: number;
}

/** A restore waits for containers still mounting its volume this many tries at most (then fails, saying so). */
const BUSY_ATTEMPTS = 30;

/** Helper containers younger than this are never swept (their operation may still be starting). */
const HELPER_MIN_AGE_MS = 5 * 60_000;

/**
 * The worker's loop for app volumes: runs the durable operations (backup,
 * restore, delete) one at a time under a lease, makes each volume's Docker
 * volume with Pier's labels as soon as it is created (a NOTIFY wakes it),
 * queues scheduled backups (one per slot; a worker that was down makes only
 * the latest missed one), and sweeps the helper containers of a dead worker.
 */
export class VolumeOperator {
  #operationLoop: PassLoop | undefined;
  #reconcileLoop: PassLoop | undefined;
  readonly #backups: VolumeBackups;
  /** Docker volumes this process has made sure of: a NOTIFY's pass looks only for new ones, the reconcile pass at all. */
  readonly #ensured = new Set<string>();

  constructor(private readonly options: VolumeOperatorOptions) {
    this.#backups = new VolumeBackups(options);
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 60_000;
  }

  private get busyRetryMs(): number {
    return this.options.busyRetryMs ?? 2000;
  }

  start(): void {
    const { logger, sql } = this.options;
    this.#operationLoop ??= new PassLoop({
      name: 'volume operator',
      intervalMs: this.options.pollIntervalMs ?? 2000,
      wakeOn: listenTo(sql, VOLUME_OPS_CHANNEL),
      logger,
      pass: (signal) => this.drain(signal),
    });
    this.#reconcileLoop ??= new PassLoop({
      name: 'volume reconcile',
      intervalMs: this.options.reconcileIntervalMs ?? 30_000,
      logger,
      pass: () => this.reconcile(),
    });
    this.#operationLoop.start();
    this.#reconcileLoop.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#operationLoop?.stop(), this.#reconcileLoop?.stop()]);
  }

  private async drain(signal: AbortSignal): Promise<void> {
    // A new volume wakes this loop too: its Docker volume is made before its replicas are.
    await this.ensureDockerVolumes({ onlyNew: true }).catch((err: unknown) =>
      this.options.logger.warn({ err }, 'volume operator: cannot list volumes'),
    );
    while (!signal.aborted) {
      let op: VolumeOperationRow | null;
      try {
        op = await this.options.operations.claimOperation(this.leaseMs);
      } catch (err) {
        this.options.logger.warn({ err }, 'volume operator: cannot claim operations');
        return;
      }
      if (!op) return;
      await this.runOperation(op);
    }
  }

  /**
   * Runs one claimed operation. Its lease is renewed as it runs; when a
   * renewal finds it lost (another worker claimed the operation after this
   * one stalled), `lease` aborts and the operation stops before it writes
   * anything more: the operation is its new holder's.
   */
  private async runOperation(op: VolumeOperationRow): Promise<void> {
    const { volumes, operations, logger } = this.options;
    const lease = new AbortController();
    const renew = setInterval(() => {
      operations.renewOperation(op, this.leaseMs).then(
        (held) => {
          if (!held) lease.abort(new Error(`the lease of volume operation ${op.id} was lost`));
        },
        () => {}, // a database hiccup: the next renewal tries again
      );
    }, this.leaseMs / 3);
    try {
      const volume = await volumes.byId(op.volumeId);
      if (!volume) return void (await operations.finishOperation(op, 'the volume no longer exists'));
      if (volume.deletingAt && op.kind !== 'delete')
        return void (await operations.finishOperation(op, 'the volume is being deleted'));
      logger.info({ volume: volume.dockerName, operation: op.kind, attempt: op.attempts }, 'volume operation');
      switch (op.kind) {
        case 'backup':
          await this.#backups.backup(volume, op, lease.signal);
          break;
        case 'restore':
          await this.#backups.restore(volume, op, lease.signal);
          break;
        case 'delete':
          await this.remove(volume, (op.options as { deleteData?: boolean }).deleteData === true, lease.signal);
          return; // the row and its operations are gone
        default:
          throw new Error(`unknown volume operation ${op.kind}`);
      }
      lease.signal.throwIfAborted();
      await operations.finishOperation(op);
    } catch (err) {
      if (lease.signal.aborted) {
        logger.warn({ operation: op.kind, volumeId: op.volumeId }, 'volume operation: lease lost, left to its new holder');
        return;
      }
      const message = (err as Error).message;
      logger.warn({ operation: op.kind, volumeId: op.volumeId, err }, 'volume operation failed');
      if (err instanceof VolumeBusyError && op.attempts < BUSY_ATTEMPTS) {
        // Stays pending: claimed again once the containers had time to stop.
        await operations.retryOperation(op, this.busyRetryMs, message).catch(() => {});
        return;
      }
      if (op.kind === 'delete') {
        // Typically the old replicas still mount it while the redeploy replaces them: again, a little later.
        await operations.retryOperation(op, Math.min(op.attempts, 12) * 5000, message).catch(() => {});
        return;
      }
      await operations.finishOperation(op, message).catch(() => {});
    } finally {
      clearInterval(renew);
    }
  }

  /** Every volume's Docker volume, labelled, created once (also when a replica is about to mount it). */
  private async ensureDockerVolumes(options: { onlyNew: boolean }): Promise<void> {
    const { volumes, containers, instance, logger } = this.options;
    for (const volume of await volumes.listAll()) {
      if (volume.deletingAt || (options.onlyNew && this.#ensured.has(volume.dockerName))) continue;
      try {
        await containers.ensureVolume(volume.dockerName, volumeLabels(volume, instance));
        this.#ensured.add(volume.dockerName);
      } catch (err) {
        logger.warn({ err, volume: volume.dockerName }, 'cannot create the Docker volume');
      }
    }
  }

  /** Docker volumes, due scheduled backups, helper containers left by a dead worker. */
  async reconcile(now = new Date()): Promise<void> {
    const { volumes, operations, logger } = this.options;
    await this.ensureDockerVolumes({ onlyNew: false });
    await this.sweepHelpers().catch((err: unknown) => logger.warn({ err }, 'volume operator: cannot sweep helpers'));
    for (const volume of await volumes.listAll()) {
      if (volume.deletingAt) continue;
      try {
        const since = (await operations.lastScheduledSlot(volume.id)) ?? volume.createdAt;
        const slot = latestDueSlot(parseCron(volume.backupSchedule), since, now);
        if (slot) await operations.requestBackup(volume, 'scheduled', slot);
      } catch (err) {
        logger.warn({ err, volume: volume.dockerName }, 'cannot queue a scheduled volume backup');
      }
    }
  }

  private async sweepHelpers(): Promise<void> {
    const { containers, volumes, operations, instance } = this.options;
    for (const role of HELPER_ROLES) {
      for (const helper of await containers.listContainers({ 'pier.role': role, 'pier.instance': instance })) {
        if (Date.now() - (helper.startedAt?.getTime() ?? 0) < HELPER_MIN_AGE_MS) continue;
        const volume = (await volumes.listAll()).find(
          (v) => v.name === helper.labels[LABEL_VOLUME] && v.environmentId === helper.labels['pier.environment-id'],
        );
        const ops = volume ? await operations.operations(volume.id, 5) : [];
        if (ops.some((o) => o.state === 'running' && o.lockedUntil && o.lockedUntil > new Date())) continue;
        await containers.removeContainer(helper.id);
      }
    }
  }

  /** Removes the Docker volume (with `deleteData`, and its backups' files), then the row. */
  private async remove(volume: VolumeWithOwner, deleteData: boolean, signal: AbortSignal): Promise<void> {
    const { containers, volumes, operations } = this.options;
    signal.throwIfAborted();
    if (deleteData) {
      try {
        await containers.removeVolume(volume.dockerName);
      } catch (err) {
        throw new Error(`the volume is still in use (${lastLine((err as Error).message)}); will retry`);
      }
      signal.throwIfAborted();
      for (const backup of await operations.allBackupRecordsOf(volume.id)) {
        if (backup.fileName) await rm(join(this.options.backupDirectory, backup.fileName), { force: true });
      }
      await operations.deleteBackupsOf(volume.id);
    } else {
      await operations.failUnfinishedBackups(volume.id);
    }
    signal.throwIfAborted();
    await volumes.remove(volume.id);
    this.#ensured.delete(volume.dockerName);
    this.options.logger.info({ volume: volume.dockerName, deleteData }, 'volume deleted');
  }
}
