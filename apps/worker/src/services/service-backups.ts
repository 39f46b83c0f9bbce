import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ContainerOperations, serviceEngine } from '@pier/core';
import type { BackupRow, OperationRow, ServiceOperationStore, ServiceRow, ServiceStore } from '@pier/db';
import type { Logger } from '@pier/log';
import { backupPath, fileExists, sha256Of, writeAtomically } from './backup-files.ts';
import type { EngineContext } from './engines/engine.ts';
import { engineOperations } from './engines/registry.ts';
import { waitReady } from './service-commands.ts';
import { verifyContainerSpec } from './service-spec.ts';

export interface ServiceBackupsOptions {
  services: ServiceStore;
  operations: ServiceOperationStore;
  containers: ContainerOperations;
  /** What the engines' restores work with. */
  engineContext: EngineContext;
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
 * network before it counts, only verified and unchanged files restored. How
 * an engine's data is dumped, checked and put back is its own (`engines/`).
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
    const engine = engineOperations(service.type);
    if (!service.containerId || service.state !== 'ready')
      throw new Error(`service ${service.name} is ${service.state}, not ready`);
    await operations.updateBackup(backup.id, { state: 'running' });
    const credentials = services.credentials(service);
    const extension = serviceEngine(service.type).backup.fileExtension;
    const path = backupPath(this.options.backupDirectory, service.name, backup.id, extension);
    let expected: object = {};
    const written = await writeAtomically(path, async (out) => {
      expected = await engine.dump(containers, service.containerId as string, credentials, out);
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
    const engine = engineOperations(service.type);
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
      const expected = (backup.verification as { expected?: object } | null)?.expected;
      const check = await engine.verify(containers, containerId, credentials, file, expected);
      problems.push(...check.problems);
      return { problems, found: check.found };
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

  /** A restore operation: a verified backup, unchanged on disk, into `target`, the way its engine restores. */
  async restore(target: ServiceRow, op: OperationRow): Promise<void> {
    const { operations } = this.options;
    const engine = engineOperations(target.type);
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
    await engine.restore(this.options.engineContext, target, file);
  }
}
