import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ContainerOperations, LABEL_SERVICE_ID, latestDueSlot, parseCron, serviceNetwork } from '@pier/core';
import { type BackupRow, type OperationRow, SERVICE_OPS_CHANNEL, type ServiceRow, type ServiceStore } from '@pier/db';
import type { Logger } from '@pier/log';
import type postgres from 'postgres';
import { LABEL_INSTANCE } from '../deploy/replica-spec.ts';
import { backupPath, fileExists, sha256Of, writeAtomically } from './backup-files.ts';
import { checkPostgresRestore, dumpPostgres, restorePostgres } from './postgres-backup.ts';
import { checkRedisFile, dropPreviousRedisData, dumpRedis, placeRedisFile } from './redis-backup.ts';
import { lastLine, waitReady } from './service-commands.ts';
import { DATA_DIRECTORY, serviceContainerSpec, serviceLabels, VERIFY_LIMITS, verifyContainerSpec } from './service-spec.ts';

export interface ServiceOperatorOptions {
  services: ServiceStore;
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

/** A database gets this long to shut down cleanly before it is killed. */
const STOP_GRACE_SECONDS = 30;
/** A service that was ready and then failed to come back is tried again after this long. */
const FAILED_RETRY_MS = 60_000;
/** Scratch containers younger than this are never swept (their operation may still be starting). */
const SCRATCH_MIN_AGE_MS = 5 * 60_000;
/** How long a service's container may be seen stopped before it is replaced. */
const DOWN_GRACE_MS = 15_000;

/**
 * The worker's loop for managed services: runs the durable operations
 * (provision, backup, restore, delete) one at a time, keeps each ready
 * service's container running (re-created on its volume when it is gone), and
 * queues scheduled backups. Everything it touches carries `pier.service-id`
 * and its own `pier.instance`.
 */
export class ServiceOperator {
  #timers: NodeJS.Timeout[] = [];
  #listener: { unlisten(): Promise<void> } | null = null;
  #running: Promise<void> = Promise.resolve();
  #queued = false;
  #stopped = true;
  /** When each service's container was first seen not running: replaced only if it stays so (a `docker restart` is not a death). */
  readonly #downSince = new Map<string, number>();

  constructor(private readonly options: ServiceOperatorOptions) {}

  private get leaseMs(): number {
    return this.options.leaseMs ?? 60_000;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#timers.push(setInterval(() => this.kick(), this.options.pollIntervalMs ?? 2000));
    this.#timers.push(setInterval(() => void this.reconcile(), this.options.reconcileIntervalMs ?? 10_000));
    try {
      this.#listener = await this.options.sql.listen(SERVICE_OPS_CHANNEL, () => this.kick());
    } catch (err) {
      this.options.logger.warn({ err }, 'service operator: LISTEN failed, polling only');
    }
    this.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#listener?.unlisten().catch(() => {});
    await this.#running;
  }

  /** Runs pending operations; calls coalesce behind the one running. */
  kick(): void {
    if (this.#stopped || this.#queued) return;
    this.#queued = true;
    this.#running = this.#running.then(async () => {
      this.#queued = false;
      await this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (!this.#stopped) {
      let op: OperationRow | null;
      try {
        op = await this.options.services.claimOperation(this.leaseMs);
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message }, 'service operator: cannot claim operations');
        return;
      }
      if (!op) return;
      await this.runOperation(op);
    }
  }

  private async runOperation(op: OperationRow): Promise<void> {
    const { services, logger } = this.options;
    const renew = setInterval(() => void services.renewOperation(op.id, this.leaseMs).catch(() => {}), this.leaseMs / 3);
    try {
      const service = await services.byId(op.serviceId);
      if (!service) return await services.finishOperation(op.id, 'the service no longer exists');
      if (service.state === 'deleting' && op.kind !== 'delete') {
        return await services.finishOperation(op.id, 'the service is being deleted');
      }
      logger.info({ service: service.name, operation: op.kind, attempt: op.attempts }, 'service operation');
      switch (op.kind) {
        case 'provision':
          await this.provision(service);
          break;
        case 'backup':
          await this.backup(service, op);
          break;
        case 'restore':
          await this.restore(service, op);
          break;
        case 'delete':
          await this.remove(service, (op.options as { deleteData?: boolean }).deleteData === true);
          return; // the row and its operations are gone
      }
      await services.finishOperation(op.id);
    } catch (err) {
      const message = (err as Error).message;
      logger.warn({ operation: op.kind, serviceId: op.serviceId, err: message }, 'service operation failed');
      if (op.kind === 'delete') {
        // Typically the network is still used by replicas being drained: the same operation again, a little later.
        await services.retryOperation(op.id, Math.min(op.attempts, 12) * 5000, message).catch(() => {});
        return;
      }
      await services.finishOperation(op.id, message).catch(() => {});
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
    const containerId = await this.startContainer(service);
    await services.setState(service.id, 'ready', { containerId, lastError: null, readyAt: new Date() });
  }

  private async startContainer(service: ServiceRow): Promise<string> {
    const { containers, instance } = this.options;
    const labels = serviceLabels(service, instance);
    await containers.ensureNetwork(serviceNetwork(service.name), labels);
    await containers.ensureVolume(service.volumeName, labels);
    // A container left by a crash mid-provision, or one that died: replaced, the volume keeps the data.
    for (const old of await this.serviceContainers(service.id, 'service')) {
      await containers.stopContainer(old.id, STOP_GRACE_SECONDS);
      await containers.removeContainer(old.id);
    }
    const credentials = this.options.services.credentials(service);
    const info = await containers.runContainer(serviceContainerSpec(service, credentials, instance));
    try {
      await waitReady(containers, info.id, service.type, credentials, this.options.readyTimeoutMs ?? 120_000);
    } catch (err) {
      const tail = await this.logTail(info.id);
      throw new Error(`${service.type} ${service.name}: ${(err as Error).message}${tail ? `; last log lines: ${tail}` : ''}`);
    }
    return info.id;
  }

  private serviceContainers(serviceId: string, role: string) {
    return this.options.containers.listContainers({
      [LABEL_SERVICE_ID]: serviceId,
      'pier.role': role,
      [LABEL_INSTANCE]: this.options.instance,
    });
  }

  private async logTail(containerId: string): Promise<string> {
    const lines: string[] = [];
    try {
      for await (const entry of this.options.containers.containerLogs(containerId, { tail: 5 })) lines.push(entry.line);
    } catch {
      return '';
    }
    return lines.join(' / ');
  }

  /** Ready services whose container is gone or stopped get a new one; due scheduled backups are queued. */
  async reconcile(): Promise<void> {
    if (this.#stopped) return;
    const { services, containers, logger } = this.options;
    let rows: ServiceRow[];
    try {
      rows = await services.list();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'service operator: cannot list services');
      return;
    }
    await this.sweepScratch().catch((err: unknown) =>
      logger.warn({ err: (err as Error).message }, 'service operator: cannot sweep scratch containers'),
    );
    for (const service of rows) {
      if (service.state === 'deleting') {
        await this.retryDelete(service).catch(() => {});
        continue;
      }
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
        } else {
          const since = this.#downSince.get(service.id) ?? Date.now();
          this.#downSince.set(service.id, since);
          // Gone: at once. Stopped: after a grace, so that a restart in progress is left to finish.
          if (!info || Date.now() - since >= DOWN_GRACE_MS) {
            // Queued only if the row still names the container seen here and nothing else is under way.
            if (await services.requestReprovision(service.id, service.containerId, 'ready')) {
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
        logger.warn({ service: service.name, err: (err as Error).message }, 'service reconcile failed');
      }
    }
  }

  private async retryProvision(service: ServiceRow): Promise<void> {
    if (await this.options.services.requestReprovision(service.id, service.containerId, 'failed')) {
      this.options.logger.warn({ service: service.name }, 'service failed after it had been ready: trying again');
    }
  }

  /**
   * Scratch containers (backup verification, Redis restore) left by a worker
   * that died mid-operation: removed, with a verification's volume, once no
   * operation of their service runs and they are older than a few minutes.
   */
  private async sweepScratch(): Promise<void> {
    const { containers, services, instance } = this.options;
    for (const role of ['backup-verify', 'restore']) {
      const found = await containers.listContainers({ 'pier.role': role, [LABEL_INSTANCE]: instance });
      for (const container of found) {
        const age = Date.now() - (container.startedAt?.getTime() ?? 0);
        if (age < SCRATCH_MIN_AGE_MS) continue;
        const serviceId = container.labels[LABEL_SERVICE_ID];
        const ops = serviceId ? await services.operations(serviceId, 5) : [];
        if (ops.some((op) => op.state === 'running' && op.lockedUntil && op.lockedUntil > new Date())) continue;
        await containers.removeContainer(container.id);
        if (role === 'backup-verify') await containers.removeVolume(container.name).catch(() => {});
      }
    }
  }

  /** A delete that failed (a network still in use) is tried again. */
  private async retryDelete(service: ServiceRow): Promise<void> {
    const ops = await this.options.services.operations(service.id, 10);
    if (ops.some((op) => op.state === 'pending' || op.state === 'running')) return;
    const last = ops.find((op) => op.kind === 'delete');
    // At most once a minute: a network still in use may take a while to be let go.
    if (last?.finishedAt && Date.now() - last.finishedAt.getTime() < FAILED_RETRY_MS) return;
    await this.options.services.addOperation(service.id, 'delete', { options: (last?.options as object) ?? {} });
  }

  private async queueScheduledBackup(service: ServiceRow, now = new Date()): Promise<void> {
    const schedule = parseCron(service.backupSchedule);
    const since = (await this.options.services.lastScheduledSlot(service.id)) ?? service.readyAt ?? service.createdAt;
    const slot = latestDueSlot(schedule, since, now);
    if (slot) await this.options.services.requestBackup(service.id, 'scheduled', slot);
  }

  // ---- backups ------------------------------------------------------------------------------------

  private async backup(service: ServiceRow, op: OperationRow): Promise<void> {
    const { services, logger } = this.options;
    if (!op.backupId) throw new Error('backup operation without a backup');
    const backup = await services.backup(op.backupId);
    const verifyOnly = (op.options as { verifyOnly?: boolean }).verifyOnly === true;
    try {
      if (!verifyOnly) await this.dump(service, backup);
      const fresh = await services.backup(backup.id);
      await services.updateBackup(backup.id, { state: 'verifying' });
      const verification = await this.verify(service, fresh);
      await services.updateBackup(backup.id, {
        state: verification.problems.length === 0 ? 'good' : 'failed',
        verification: { ...(fresh.verification as object), ...verification, verifiedAt: new Date().toISOString() },
        error: verification.problems.length === 0 ? null : verification.problems.join('; '),
        finishedAt: new Date(),
      });
      logger.info({ service: service.name, backup: backup.id, problems: verification.problems.length }, 'backup verified');
    } catch (err) {
      await services.updateBackup(backup.id, { state: 'failed', error: (err as Error).message, finishedAt: new Date() });
      throw err;
    }
    await this.prune(service);
  }

  private async dump(service: ServiceRow, backup: BackupRow): Promise<void> {
    const { services, containers } = this.options;
    if (!service.containerId || service.state !== 'ready')
      throw new Error(`service ${service.name} is ${service.state}, not ready`);
    await services.updateBackup(backup.id, { state: 'running' });
    const credentials = services.credentials(service);
    const path = backupPath(this.options.backupDirectory, service.name, backup.id, service.type === 'postgres' ? 'dump' : 'rdb');
    let expected: object = {};
    const written = await writeAtomically(path, async (out) => {
      if (service.type === 'postgres') {
        expected = { tables: await dumpPostgres(containers, service.containerId as string, credentials, out) };
      } else {
        expected = await dumpRedis(containers, service.containerId as string, credentials, out);
      }
    });
    await services.updateBackup(backup.id, {
      fileName: path.slice(this.options.backupDirectory.length + 1),
      sizeBytes: written.sizeBytes,
      sha256: written.sha256,
      verification: { expected },
    });
  }

  /** Restores the file into a throwaway container and checks what it finds; never touches the service. */
  private async verify(service: ServiceRow, backup: BackupRow): Promise<{ problems: string[]; found?: object }> {
    const { containers, instance } = this.options;
    if (!backup.fileName) return { problems: ['the backup has no file'] };
    const file = join(this.options.backupDirectory, backup.fileName);
    if (!(await fileExists(file))) return { problems: [`the file ${backup.fileName} is missing`] };
    const problems: string[] = [];
    if (backup.sha256 && (await sha256Of(file)) !== backup.sha256) {
      problems.push('the file has changed since it was written (SHA-256 differs)');
    }
    const credentials = this.options.services.credentials(service);
    const spec = verifyContainerSpec(service, credentials, instance, backup.id);
    const volume = Object.keys(spec.volumes ?? {})[0] as string;
    await containers.ensureVolume(volume, spec.labels);
    let containerId: string | undefined;
    try {
      containerId = (await containers.runContainer(spec)).id;
      await waitReady(containers, containerId, service.type, credentials, this.options.readyTimeoutMs ?? 120_000);
      const expected = (backup.verification as { expected?: { tables?: Record<string, number>; keys?: number } } | null)
        ?.expected;
      if (service.type === 'postgres') {
        const { found, problems: mismatches } = await checkPostgresRestore(
          containers,
          containerId,
          credentials,
          file,
          expected?.tables ?? {},
        );
        problems.push(...mismatches);
        return { problems, found: { tables: found } };
      }
      const found = await checkRedisFile(containers, containerId, file);
      return { problems, found };
    } catch (err) {
      problems.push(`restoring into a scratch ${service.type} failed: ${(err as Error).message}`);
      return { problems };
    } finally {
      if (containerId) await containers.removeContainer(containerId).catch(() => {});
      await containers.removeVolume(volume).catch(() => {});
    }
  }

  private async prune(service: ServiceRow): Promise<void> {
    for (const old of await this.options.services.pruneBackups(service.id, service.backupRetention)) {
      if (old.fileName) await rm(join(this.options.backupDirectory, old.fileName), { force: true });
    }
  }

  // ---- restore --------------------------------------------------------------------------------------

  private async restore(target: ServiceRow, op: OperationRow): Promise<void> {
    const { services, containers } = this.options;
    if (!op.backupId) throw new Error('restore operation without a backup');
    const backup = await services.backup(op.backupId);
    const source = await services.byId(backup.serviceId);
    if (backup.state !== 'good') throw new Error(`backup ${backup.id} is ${backup.state}; only verified backups are restored`);
    if (source && source.type !== target.type) throw new Error(`a ${source.type} backup cannot be restored into ${target.type}`);
    if (!target.containerId || target.state !== 'ready') throw new Error(`service ${target.name} is ${target.state}, not ready`);
    const file = join(this.options.backupDirectory, backup.fileName as string);
    if (!(await fileExists(file))) throw new Error(`the file ${backup.fileName} is missing`);
    if ((await sha256Of(file)) !== backup.sha256) throw new Error('the file has changed since it was verified (SHA-256 differs)');
    if (target.type === 'postgres') {
      await restorePostgres(containers, target.containerId, services.credentials(target), file, true);
      return;
    }
    await this.restoreRedis(target, file);
  }

  /** Redis: stop the service, put the RDB file in its volume as the base of a fresh AOF, start it again. */
  private async restoreRedis(target: ServiceRow, file: string): Promise<void> {
    const { containers, services, instance } = this.options;
    for (const old of await this.serviceContainers(target.id, 'service')) {
      await containers.stopContainer(old.id, 10);
      await containers.removeContainer(old.id);
    }
    const helper = await containers.runContainer({
      name: `pier-restore-${target.name}-${Date.now().toString(36)}`.slice(0, 120),
      image: target.image,
      env: {},
      labels: serviceLabels(target, instance, 'restore'),
      containerPort: null,
      networks: ['none'],
      limits: VERIFY_LIMITS,
      volumes: { [target.volumeName]: DATA_DIRECTORY.redis },
      command: ['sleep', 'infinity'],
    });
    try {
      await placeRedisFile(containers, helper.id, file);
    } finally {
      await containers.removeContainer(helper.id).catch(() => {});
    }
    const containerId = await this.startContainer(target);
    await services.setState(target.id, 'ready', { containerId, lastError: null });
    await dropPreviousRedisData(containers, containerId);
  }

  // ---- delete ------------------------------------------------------------------------------------

  private async remove(service: ServiceRow, deleteData: boolean): Promise<void> {
    const { containers, services } = this.options;
    for (const role of ['service', 'backup-verify', 'restore']) {
      for (const c of await this.serviceContainers(service.id, role)) {
        await containers.removeContainer(c.id);
        if (role === 'backup-verify') await containers.removeVolume(c.name).catch(() => {});
      }
    }
    try {
      await containers.removeNetwork(serviceNetwork(service.name));
    } catch (err) {
      throw new Error(`the network is still in use (${lastLine((err as Error).message)}); will retry`);
    }
    if (deleteData) {
      await containers.removeVolume(service.volumeName);
      await rm(join(this.options.backupDirectory, service.name), { recursive: true, force: true });
    }
    await services.remove(service.id);
  }
}
