import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ContainerOperations, type ContainerStatus, volumeLabels } from '@pier/core';
import type { VolumeBackupRow, VolumeOperationRow, VolumeOperationStore, VolumeStore, VolumeWithOwner } from '@pier/db';
import type { Logger } from '@pier/log';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, LABEL_PROCESS } from '../deploy/replica-spec.ts';
import { fileChunks, fileExists, sha256Of, writeAtomically } from '../services/backup-files.ts';
import { lastLine } from '../services/service-commands.ts';
import { countTarEntries, type TarCount } from './tar-entries.ts';
import { HELPER_MOUNT, type HelperRole, MEASURE_COMMAND, measuredFrom, volumeHelperSpec } from './volume-helper-spec.ts';

export interface VolumeBackupsOptions {
  volumes: VolumeStore;
  operations: VolumeOperationStore;
  containers: ContainerOperations;
  logger: Logger;
  instance: string;
  /** The helper containers' image (PIER_IMAGE_VOLUME_TOOLS): tar and find. */
  image: string;
  /** Backup files live here (PIER_BACKUP_DIR), under `volumes/`. */
  backupDirectory: string;
  /** Longest a tar of one volume (or its restore) may take. */
  commandTimeoutMs?: number;
}

/** A backup's tar is made this many times at most while files change under it (tar exits 1), then it fails. */
export const DUMP_ATTEMPTS = 3;

/** The operation cannot run yet (containers still mount the volume): it is tried again a little later. */
export class VolumeBusyError extends Error {
  override name = 'VolumeBusyError';
}

/** Container states in which nothing of it runs any more (its mounts write nothing). */
const STOPPED: readonly ContainerStatus[] = ['exited', 'dead'];

/** A volume backup's file: `<dir>/volumes/<app>/<env>/<volume>/<time>-<id>.tar` (validated names and an id). */
export function volumeBackupPath(directory: string, volume: VolumeWithOwner, backupId: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return join(directory, 'volumes', volume.app, volume.env, volume.name, `${stamp}-${backupId}.tar`);
}

/**
 * Backups and restores of app volumes: a tar of the volume made in a helper
 * container that mounts it read-only, written atomically with its SHA-256,
 * then verified by reading the file back (its checksum, every tar header and
 * block) against the files and bytes measured in the volume. Only good
 * backups, unchanged on disk, are restored.
 */
export class VolumeBackups {
  constructor(private readonly options: VolumeBackupsOptions) {}

  private get timeoutMs(): number {
    return this.options.commandTimeoutMs ?? 60 * 60_000;
  }

  /** A backup operation; `signal` aborts when the operation's lease is lost, and nothing more is written then. */
  async backup(volume: VolumeWithOwner, op: VolumeOperationRow, signal: AbortSignal): Promise<void> {
    const { operations, logger } = this.options;
    if (!op.backupId) throw new Error('backup operation without a backup');
    const backup = await operations.backup(op.backupId);
    try {
      const measured = await this.dump(volume, backup, signal);
      signal.throwIfAborted();
      await operations.updateBackup(backup.id, { state: 'verifying' });
      const problems = await this.verify(await operations.backup(backup.id), measured);
      signal.throwIfAborted();
      await operations.updateBackup(backup.id, {
        state: problems.length === 0 ? 'good' : 'failed',
        verification: { ...measured, verifiedAt: new Date().toISOString() },
        error: problems.length === 0 ? null : problems.join('; '),
        finishedAt: new Date(),
      });
      logger.info({ volume: volume.dockerName, backup: backup.id, ...measured, problems }, 'volume backup verified');
    } catch (err) {
      if (signal.aborted) throw err;
      await operations.updateBackup(backup.id, { state: 'failed', error: (err as Error).message, finishedAt: new Date() });
      throw err;
    }
    signal.throwIfAborted();
    await this.prune(volume);
  }

  /**
   * Measures the volume and writes its tar; returns what was measured. GNU
   * tar exits 1 when a file changed while it was read: that archive is torn
   * (a file half old, half new), so it is made again, at most
   * DUMP_ATTEMPTS times in all, then the backup fails saying why.
   */
  private async dump(volume: VolumeWithOwner, backup: VolumeBackupRow, signal: AbortSignal): Promise<TarCount> {
    const { operations, containers } = this.options;
    await operations.updateBackup(backup.id, { state: 'running' });
    const path = volumeBackupPath(this.options.backupDirectory, volume, backup.id);
    return this.withHelper(volume, 'volume-backup', async (helper) => {
      for (let attempt = 1; ; attempt++) {
        const measured = await this.measure(helper);
        let torn = false;
        const written = await writeAtomically(path, async (out) => {
          // --hard-dereference is not given: a file with several names is stored once, its other names as links.
          const result = await containers.exec(helper, ['tar', '--numeric-owner', '-C', HELPER_MOUNT, '-cf', '-', '.'], {
            stdout: out,
            timeoutMs: this.timeoutMs,
          });
          signal.throwIfAborted(); // before the file takes the backup's name
          if (result.exitCode === 1) torn = true;
          else if (result.exitCode !== 0) throw new Error(`tar exited with ${result.exitCode}: ${lastLine(result.stderr)}`);
        });
        if (torn) {
          await rm(path, { force: true });
          if (attempt < DUMP_ATTEMPTS) continue;
          throw new Error(
            `files of the volume changed while they were read, in each of ${DUMP_ATTEMPTS} attempts (tar exited with 1): ` +
              'the archive would not be a consistent copy; scale the process types that write to it to 0 for a consistent backup',
          );
        }
        signal.throwIfAborted();
        await operations.updateBackup(backup.id, {
          fileName: path.slice(this.options.backupDirectory.length + 1),
          sizeBytes: written.sizeBytes,
          sha256: written.sha256,
        });
        return measured;
      }
    });
  }

  /** Reads the file back: unchanged (SHA-256), a whole archive, with the files and bytes the volume had. */
  private async verify(backup: VolumeBackupRow, measured: TarCount): Promise<string[]> {
    if (!backup.fileName) return ['the backup has no file'];
    const file = join(this.options.backupDirectory, backup.fileName);
    if (!(await fileExists(file))) return [`the file ${backup.fileName} is missing`];
    const problems: string[] = [];
    if ((await sha256Of(file)) !== backup.sha256) problems.push('the file has changed since it was written (SHA-256 differs)');
    try {
      const found = await countTarEntries(createReadStream(file, { highWaterMark: 256 * 1024 }));
      if (found.files !== measured.files || found.bytes !== measured.bytes) {
        problems.push(
          `the archive holds ${found.files} files (${found.bytes} bytes) but the volume had ${measured.files} (${measured.bytes} bytes): ` +
            'it changed while it was read, or the archive is incomplete; back it up again',
        );
      }
    } catch (err) {
      problems.push(`the archive cannot be read back: ${(err as Error).message}`);
    }
    return problems;
  }

  private async prune(volume: VolumeWithOwner): Promise<void> {
    for (const old of await this.options.operations.pruneBackups(volume.id, volume.backupRetention)) {
      if (old.fileName) await rm(join(this.options.backupDirectory, old.fileName), { force: true });
    }
  }

  /**
   * A restore operation: a good backup of `source`, unchanged on disk, into
   * `source` itself (none of its replicas may run) or into the new volume
   * the operation names (`intoVolumeId`); the target's files are replaced,
   * then measured against the backup's.
   */
  async restore(source: VolumeWithOwner, op: VolumeOperationRow, signal: AbortSignal): Promise<void> {
    const { volumes, operations, containers, logger } = this.options;
    if (!op.backupId) throw new Error('restore operation without a backup');
    const backup = await operations.backup(op.backupId);
    if (backup.state !== 'good') throw new Error(`backup ${backup.id} is ${backup.state}; only verified backups are restored`);
    const intoId = (op.options as { intoVolumeId?: string }).intoVolumeId;
    const target = intoId ? await volumes.byId(intoId) : source;
    if (!target || target.deletingAt) throw new Error('the volume to restore into was deleted');
    const running = await volumes.activeReplicaCount(target.environmentId, target.processTypes);
    if (running > 0 && target.id === source.id) {
      throw new Error(
        `volume ${target.name} is mounted by ${running} running replicas: scale them to 0 before restoring into it`,
      );
    }
    const mounting = await this.mountedBy(target);
    if (mounting > 0 && target.id !== source.id) {
      throw new Error(
        `volume ${target.name} is mounted by ${mounting} running containers: a restore fills a volume nothing mounts`,
      );
    }
    if (mounting > 0) {
      // Their rows are gone (scaled to 0), their containers not yet: they are running out their stop grace.
      throw new VolumeBusyError(
        `volume ${target.name} is still mounted by ${mounting} stopping containers; the restore waits until they have stopped`,
      );
    }
    const file = join(this.options.backupDirectory, backup.fileName as string);
    if (!(await fileExists(file))) throw new Error(`the file ${backup.fileName} is missing`);
    if ((await sha256Of(file)) !== backup.sha256) throw new Error('the file has changed since it was verified (SHA-256 differs)');
    await containers.ensureVolume(target.dockerName, volumeLabels(target, this.options.instance));
    const expected = backup.verification as TarCount;
    await this.withHelper(target, 'volume-restore', async (helper) => {
      signal.throwIfAborted();
      await this.run(helper, ['find', HELPER_MOUNT, '-xdev', '-mindepth', '1', '-delete']);
      signal.throwIfAborted();
      const result = await containers.exec(helper, ['tar', '--numeric-owner', '-C', HELPER_MOUNT, '-xpf', '-'], {
        stdin: fileChunks(file),
        timeoutMs: this.timeoutMs,
      });
      if (result.exitCode !== 0) throw new Error(`tar exited with ${result.exitCode}: ${lastLine(result.stderr)}`);
      const found = await this.measure(helper);
      if (found.files !== expected.files || found.bytes !== expected.bytes) {
        throw new Error(
          `the restored volume holds ${found.files} files (${found.bytes} bytes), the backup ${expected.files} (${expected.bytes} bytes)`,
        );
      }
    });
    logger.info({ volume: target.dockerName, backup: backup.id }, 'volume restored');
  }

  /**
   * Containers of this installation that still mount `volume` (not yet
   * exited): the replicas of its environment of the process types it is
   * mounted into, as their labels say; a replica's row may be gone while its
   * container still runs out its stop grace.
   */
  private async mountedBy(volume: VolumeWithOwner): Promise<number> {
    if (volume.processTypes.length === 0) return 0;
    const found = await this.options.containers.listContainers({
      [LABEL_ENVIRONMENT_ID]: volume.environmentId,
      [LABEL_INSTANCE]: this.options.instance,
    });
    return found.filter((c) => !STOPPED.includes(c.status) && volume.processTypes.includes(c.labels[LABEL_PROCESS] ?? '')).length;
  }

  private async measure(helper: string): Promise<TarCount> {
    return measuredFrom(await this.run(helper, MEASURE_COMMAND));
  }

  private async run(helper: string, command: string[]): Promise<string> {
    const result = await this.options.containers.exec(helper, command, { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) throw new Error(`${command[0]} exited with ${result.exitCode}: ${lastLine(result.stderr)}`);
    return result.stdout;
  }

  /** Runs `work` with a helper container on `volume`, removed afterwards (a dead worker's is swept). */
  private async withHelper<T>(volume: VolumeWithOwner, role: HelperRole, work: (helper: string) => Promise<T>): Promise<T> {
    const { containers, instance, image } = this.options;
    const spec = volumeHelperSpec({ volume, image, instance, role, suffix: randomBytes(3).toString('hex') });
    const helper = await containers.runContainer(spec);
    try {
      return await work(helper.id);
    } finally {
      await containers.removeContainer(helper.id).catch(() => {});
    }
  }
}
