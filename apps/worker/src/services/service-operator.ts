import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ContainerOperations,
  LABEL_SERVICE_ID,
  latestDueSlot,
  PassLoop,
  parseCron,
  serviceEngine,
  serviceNetwork,
} from '@pier/core';
import {
  listenTo,
  type OperationRow,
  SERVICE_OPS_CHANNEL,
  type ServiceOperationStore,
  type ServiceRoleStore,
  type ServiceRow,
  type ServiceStore,
} from '@pier/db';
import type { Logger } from '@pier/log';
import type postgres from 'postgres';
import type { EngineContext } from './engines/engine.ts';
import { engineOperations } from './engines/registry.ts';
import { ServiceAuthority } from './service-authority.ts';
import { ServiceBackups } from './service-backups.ts';
import { lastLine } from './service-commands.ts';
import { SCRATCH_ROLES, ServiceContainers } from './service-containers.ts';
import { LABEL_SERVICE_CA } from './service-labels.ts';

export interface ServiceOperatorOptions {
  services: ServiceStore;
  operations: ServiceOperationStore;
  /** The Postgres login roles of linked environments. */
  roles: ServiceRoleStore;
  containers: ContainerOperations;
  sql: postgres.Sql;
  logger: Logger;
  instance: string;
  /** Backup files live here (PIER_BACKUP_DIR). */
  backupDirectory: string;
  /** How often pending operations are looked for besides NOTIFY, and containers and schedules checked. */
  pollIntervalMs?: number;
  reconcileIntervalMs?: number;
  /** How long a claimed operation is held before another worker may take it over. */
  leaseMs?: number;
  /** How long a new container gets to accept connections. */
  readyTimeoutMs?: number;
}

/** A service that was ready and then failed to come back is tried again after this long. */
const FAILED_RETRY_MS = 60_000;
/** Scratch containers younger than this are never swept (their operation may still be starting). */
const SCRATCH_MIN_AGE_MS = 5 * 60_000;
/** How long a service's container may be seen stopped before it is replaced. */
const DOWN_GRACE_MS = 15_000;

/**
 * The worker's loop for managed services: runs the durable operations
 * (provision, backup, restore, delete, roles) one at a time, keeps each ready
 * service's container running (re-created on its volume when it is gone),
 * queues scheduled backups, and a `roles` operation for a Postgres whose link
 * roles are to be created or dropped. What differs between engines is looked
 * up in `engines/registry.ts`. Everything it touches carries `pier.service-id`
 * and its own `pier.instance`.
 */
export class ServiceOperator {
  /** Runs pending operations: on start, on each NOTIFY, and every `pollIntervalMs`. Made on start. */
  #operationLoop: PassLoop | undefined;
  /** Keeps containers running and queues scheduled backups, every `reconcileIntervalMs`. */
  #reconcileLoop: PassLoop | undefined;
  /** When each service's container was first seen not running: replaced only if it stays so (a `docker restart` is not a death). */
  readonly #downSince = new Map<string, number>();

  readonly #containers: ServiceContainers;
  readonly #backups: ServiceBackups;
  /** The installation's CA: signs each Postgres's certificate. */
  readonly #authority: ServiceAuthority;
  /** What each engine's operations (restore, link roles) work with. */
  readonly #engineContext: EngineContext;

  constructor(private readonly options: ServiceOperatorOptions) {
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    this.#authority = new ServiceAuthority(options.services);
    this.#containers = new ServiceContainers({ ...options, authority: this.#authority, readyTimeoutMs });
    this.#engineContext = { ...options, serviceContainers: this.#containers };
    this.#backups = new ServiceBackups({ ...options, engineContext: this.#engineContext, readyTimeoutMs });
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 60_000;
  }

  async start(): Promise<void> {
    const { logger, sql } = this.options;
    this.#operationLoop ??= new PassLoop({
      name: 'service operator',
      intervalMs: this.options.pollIntervalMs ?? 2000,
      wakeOn: listenTo(sql, SERVICE_OPS_CHANNEL),
      logger,
      pass: (signal) => this.drain(signal),
    });
    this.#reconcileLoop ??= new PassLoop({
      name: 'service reconcile',
      intervalMs: this.options.reconcileIntervalMs ?? 10_000,
      logger,
      pass: () => this.reconcile(),
    });
    this.#operationLoop.start();
    this.#reconcileLoop.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#operationLoop?.stop(), this.#reconcileLoop?.stop()]);
  }

  /** Runs pending operations; calls coalesce behind the one running. */
  kick(): void {
    this.#operationLoop?.kick();
  }

  private async drain(signal: AbortSignal): Promise<void> {
    // A link or unlink wakes the operator (NOTIFY) without an operation of its own: its roles are queued here.
    await this.queueRoleWork();
    while (!signal.aborted) {
      let op: OperationRow | null;
      try {
        op = await this.options.operations.claimOperation(this.leaseMs);
      } catch (err) {
        this.options.logger.warn({ err }, 'service operator: cannot claim operations');
        return;
      }
      if (!op) return;
      await this.runOperation(op);
    }
  }

  private async runOperation(op: OperationRow): Promise<void> {
    const { services, operations, logger } = this.options;
    const renew = setInterval(() => void operations.renewOperation(op.id, this.leaseMs).catch(() => {}), this.leaseMs / 3);
    try {
      const service = await services.byId(op.serviceId);
      if (!service) return await operations.finishOperation(op.id, 'the service no longer exists');
      if (service.state === 'deleting' && op.kind !== 'delete') {
        return await operations.finishOperation(op.id, 'the service is being deleted');
      }
      logger.info({ service: service.name, operation: op.kind, attempt: op.attempts }, 'service operation');
      switch (op.kind) {
        case 'provision':
          await this.provision(service);
          break;
        case 'backup':
          await this.#backups.backup(service, op);
          break;
        case 'restore':
          await this.#backups.restore(service, op);
          break;
        case 'roles':
          await this.syncRoles(service);
          break;
        case 'delete':
          await this.remove(service, (op.options as { deleteData?: boolean }).deleteData === true);
          return; // the row and its operations are gone
      }
      await operations.finishOperation(op.id);
    } catch (err) {
      const message = (err as Error).message;
      logger.warn({ operation: op.kind, serviceId: op.serviceId, err }, 'service operation failed');
      if (op.kind === 'delete') {
        // Typically the network is still used by replicas being drained: the same operation again, a little later.
        await operations.retryOperation(op.id, Math.min(op.attempts, 12) * 5000, message).catch(() => {});
        return;
      }
      await operations.finishOperation(op.id, message).catch(() => {});
      if (op.kind === 'provision') await services.setState(op.serviceId, 'failed', { lastError: message }).catch(() => {});
    } finally {
      clearInterval(renew);
    }
  }

  // ---- provision and keep running --------------------------------------------------------------

  /** Network, volume and container; ready once it accepts an authenticated connection. Idempotent. */
  async provision(service: ServiceRow): Promise<void> {
    const { services } = this.options;
    await services.setState(service.id, 'provisioning', { lastError: null });
    const containerId = await this.#containers.start(service);
    await services.setState(service.id, 'ready', { containerId, lastError: null, readyAt: new Date() });
    // A new volume has no roles yet, an old one may miss some: the links' roles, before anything is linked to it.
    const ready = await services.byId(service.id);
    if (ready?.state === 'ready') await this.syncRoles(ready);
  }

  /** The link roles of a service whose engine has them; nothing for one whose links share the superuser's URL. */
  private async syncRoles(service: ServiceRow): Promise<void> {
    await engineOperations(service.type).syncRoles?.(this.#engineContext, service);
  }

  /** Queues a `roles` operation for each Postgres whose link roles are to be created or dropped. */
  private async queueRoleWork(): Promise<void> {
    const { roles, operations, logger } = this.options;
    try {
      for (const serviceId of await roles.servicesWithWork()) await operations.requestRoleSync(serviceId);
    } catch (err) {
      logger.warn({ err }, 'service operator: cannot look for link roles to set up');
    }
  }

  /** Ready services whose container is gone or stopped get a new one; due scheduled backups are queued. */
  async reconcile(): Promise<void> {
    const { services, operations, containers, logger } = this.options;
    let rows: ServiceRow[];
    try {
      rows = await services.list();
    } catch (err) {
      logger.warn({ err }, 'service operator: cannot list services');
      return;
    }
    await this.sweepScratch().catch((err: unknown) => logger.warn({ err }, 'service operator: cannot sweep scratch containers'));
    await this.removeDeletedBackups().catch((err: unknown) =>
      logger.warn({ err }, 'service operator: cannot remove deleted backups'),
    );
    // Unlinked roles become droppable once old replicas are drained: no NOTIFY says so.
    await this.queueRoleWork();
    for (const service of rows) {
      if (service.state === 'failed' && service.readyAt && Date.now() - service.updatedAt.getTime() >= FAILED_RETRY_MS) {
        // It ran before (its data is on the volume): a failed re-creation is tried again, not given up on.
        await this.retryProvision(service).catch(() => {});
        continue;
      }
      if (service.state !== 'ready') continue;
      try {
        const info = service.containerId ? await containers.inspectContainer(service.containerId) : null;
        if (info?.status === 'running') {
          this.#downSince.delete(service.id);
          await this.upgradeToTls(service, info.labels);
        } else {
          const since = this.#downSince.get(service.id) ?? Date.now();
          this.#downSince.set(service.id, since);
          // Gone: at once. Stopped: after a grace, so that a restart in progress is left to finish.
          if (!info || Date.now() - since >= DOWN_GRACE_MS) {
            // Queued only if the row still names the container seen here and nothing else is under way.
            if (await operations.requestReprovision(service.id, service.containerId, 'ready')) {
              logger.warn(
                { service: service.name, status: info?.status ?? 'gone' },
                'service container not running: starting a new one',
              );
              this.#downSince.delete(service.id);
            }
          }
        }
        await this.queueScheduledBackup(service);
      } catch (err) {
        logger.warn({ service: service.name, err }, 'service reconcile failed');
      }
    }
  }

  /**
   * A running Postgres started before managed services spoke TLS (or with a
   * certificate of another CA) is started anew once, on its volume, so that
   * it serves a certificate of the installation's CA: a restart of a few
   * seconds, like the one after a crash. Queued only if nothing else is under way.
   */
  private async upgradeToTls(service: ServiceRow, labels: Record<string, string>): Promise<void> {
    if (!serviceEngine(service.type).tls) return;
    const authorityId = await this.#authority.id();
    if (labels[LABEL_SERVICE_CA] === authorityId) return;
    if (await this.options.operations.requestReprovision(service.id, service.containerId, 'ready')) {
      this.options.logger.warn(
        { service: service.name, authority: authorityId },
        'service container serves no certificate of this installation: starting a new one with TLS',
      );
    }
  }

  /** Backups deleted through the API: the file goes first, then the record (a crash between is taken up again). */
  private async removeDeletedBackups(): Promise<void> {
    const { operations, logger } = this.options;
    for (const backup of await operations.deletedBackups()) {
      if (backup.fileName) await rm(join(this.options.backupDirectory, backup.fileName), { force: true });
      await operations.forgetBackup(backup.id);
      logger.info({ service: backup.serviceName, backup: backup.id }, 'deleted backup removed');
    }
  }

  private async retryProvision(service: ServiceRow): Promise<void> {
    if (await this.options.operations.requestReprovision(service.id, service.containerId, 'failed')) {
      this.options.logger.warn({ service: service.name }, 'service failed after it had been ready: trying again');
    }
  }

  /**
   * Scratch containers (backup verification, Redis restore) left by a worker
   * that died mid-operation: removed, with a verification's volume, once no
   * operation of their service runs and they are older than a few minutes.
   */
  private async sweepScratch(): Promise<void> {
    const { operations } = this.options;
    for (const role of SCRATCH_ROLES) {
      for (const container of await this.#containers.list(undefined, role)) {
        if (Date.now() - (container.startedAt?.getTime() ?? 0) < SCRATCH_MIN_AGE_MS) continue;
        const serviceId = container.labels[LABEL_SERVICE_ID];
        const ops = serviceId ? await operations.operations(serviceId, 5) : [];
        if (ops.some((o) => o.state === 'running' && o.lockedUntil && o.lockedUntil > new Date())) continue;
        await this.#containers.removeScratch(container);
      }
    }
  }

  private async queueScheduledBackup(service: ServiceRow, now = new Date()): Promise<void> {
    const schedule = parseCron(service.backupSchedule);
    const since = (await this.options.operations.lastScheduledSlot(service.id)) ?? service.readyAt ?? service.createdAt;
    const slot = latestDueSlot(schedule, since, now);
    if (slot) await this.options.operations.requestBackup(service, 'scheduled', slot);
  }

  // ---- delete ------------------------------------------------------------------------------------

  private async remove(service: ServiceRow, deleteData: boolean): Promise<void> {
    const { containers, services, operations } = this.options;
    await this.#containers.removeAll(service.id);
    try {
      await containers.removeNetwork(serviceNetwork(service.name));
    } catch (err) {
      throw new Error(`the network is still in use (${lastLine((err as Error).message)}); will retry`);
    }
    if (deleteData) {
      await containers.removeVolume(service.volumeName);
      // Only this service's files: the directory may also hold the kept backups of a deleted namesake.
      for (const backup of await operations.allBackupRecordsOf(service.id)) {
        if (backup.fileName) await rm(join(this.options.backupDirectory, backup.fileName), { force: true });
      }
      await rmdir(join(this.options.backupDirectory, service.name)).catch(() => {}); // when empty
      await operations.deleteBackupsOf(service.id);
    } else {
      // Its good backups stay listed under GET /backups, to restore into another service.
      await operations.failUnfinishedBackups(service.id);
    }
    await services.remove(service.id);
  }
}
