import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerOperations } from '@pier/core';
import type { BackupRow, OperationRow, ServiceOperationStore, ServiceRow, ServiceStore } from '@pier/db';
import type { Logger } from '@pier/log';
import { backupPath, fileExists, sha256Of, writeAtomically } from './backup-files.ts';
import { checkPostgresRestore, dumpPostgres, restorePostgres } from './postgres-backup.ts';
import { checkRedisFile, dropPreviousRedisData, dumpRedis, placeRedisFile } from './redis-backup.ts';
import { waitReady } from './service-commands.ts';
import type { ServiceContainers } from './service-containers.ts';
import type { ServiceRoles } from './service-roles.ts';
import { restoreHelperSpec, verifyContainerSpec } from './service-spec.ts';

export interface ServiceBackupsOptions {
  services: ServiceStore;
  operations: ServiceOperationStore;
  containers: ContainerOperations;
  serviceContainers: ServiceContainers;
  serviceRoles: ServiceRoles;
  logger: Logger;
  instance: string;
  /** Backup files live here (PIER_BACKUP_DIR). */
  backupDirectory: string;
  /** How long a scratch container gets to accept connections. */
  readyTimeoutMs: number;
}

/**
 * Backups and restores of managed services: files written atomically with
 * their SHA-256, every backup verified in a scratch container with no
 * network before it counts, only verified and unchanged files restored.
 */
export class ServiceBackups {
  constructor(private readonly options: ServiceBackupsOptions) {}

  /** A backup operation: dump (unless it only verifies again), verify in a scratch container, prune. */
  async backup(service: ServiceRow, op: OperationRow): Promise<void> {
    const { operations, logger } = this.options;
    if (!op.backupId) throw new Error('backup operation without a backup');
    const backup = await operations.backup(op.backupId);
    const verifyOnly = (op.options as { verifyOnly?: boolean }).verifyOnly === true;
    try {
      if (!verifyOnly) await this.dump(service, backup);
      const fresh = await operations.backup(backup.id);
      await operations.updateBackup(backup.id, { state: 'verifying' });
      const verification = await this.verify(service, fresh);
      await operations.updateBackup(backup.id, {
        state: verification.problems.length === 0 ? 'good' : 'failed',
        verification: { ...(fresh.verification as object), ...verification, verifiedAt: new Date().toISOString() },
        error: verification.problems.length === 0 ? null : verification.problems.join('; '),
        finishedAt: new Date(),
      });
      logger.info({ service: service.name, backup: backup.id, problems: verification.problems.length }, 'backup verified');
    } catch (err) {
      await operations.updateBackup(backup.id, { state: 'failed', error: (err as Error).message, finishedAt: new Date() });
      throw err;
    }
    await this.prune(service);
  }

  private async dump(service: ServiceRow, backup: BackupRow): Promise<void> {
    const { services, operations, containers } = this.options;
    if (!service.containerId || service.state !== 'ready')
      throw new Error(`service ${service.name} is ${service.state}, not ready`);
    await operations.updateBackup(backup.id, { state: 'running' });
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
    await operations.updateBackup(backup.id, {
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
      await waitReady(containers, containerId, service.type, credentials, this.options.readyTimeoutMs);
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
    for (const old of await this.options.operations.pruneBackups(service.id, service.backupRetention)) {
      if (old.fileName) await rm(join(this.options.backupDirectory, old.fileName), { force: true });
    }
  }

  /** A restore operation: a verified backup, unchanged on disk, into `target`. */
  async restore(target: ServiceRow, op: OperationRow): Promise<void> {
    const { services, operations, containers } = this.options;
    if (!op.backupId) throw new Error('restore operation without a backup');
    const backup = await operations.backup(op.backupId);
    if (backup.state !== 'good') throw new Error(`backup ${backup.id} is ${backup.state}; only verified backups are restored`);
    if (backup.serviceType !== target.type) {
      throw new Error(`a ${backup.serviceType} backup cannot be restored into ${target.type}`);
    }
    if (!target.containerId || target.state !== 'ready') throw new Error(`service ${target.name} is ${target.state}, not ready`);
    const file = join(this.options.backupDirectory, backup.fileName as string);
    if (!(await fileExists(file))) throw new Error(`the file ${backup.fileName} is missing`);
    if ((await sha256Of(file)) !== backup.sha256) throw new Error('the file has changed since it was verified (SHA-256 differs)');
    if (target.type === 'postgres') {
      await restorePostgres(containers, target.containerId, services.credentials(target), file, true);
      // pg_restore ran as the superuser, and roles are not in a dump: the link roles get the restored objects.
      await this.options.serviceRoles.sync(target);
      return;
    }
    await this.restoreRedis(target, file);
  }

  /** Redis: stop the service, put the RDB file in its volume as the base of a fresh AOF, start it again. */
  private async restoreRedis(target: ServiceRow, file: string): Promise<void> {
    const { containers, services, instance } = this.options;
    await this.options.serviceContainers.stop(target.id);
    const helper = await containers.runContainer(restoreHelperSpec(target, instance));
    try {
      await placeRedisFile(containers, helper.id, file);
    } finally {
      await containers.removeContainer(helper.id).catch(() => {});
    }
    const containerId = await this.options.serviceContainers.start(target);
    await services.setState(target.id, 'ready', { containerId, lastError: null });
    await dropPreviousRedisData(containers, containerId);
  }
}
