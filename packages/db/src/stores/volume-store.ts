import { ConflictError, NotFoundError } from '@pier/core';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps, environments, replicas, volumes } from '../schema.ts';
import { sqlState } from './pg-errors.ts';
import {
  addVolumeOperation,
  assertMountFree,
  createVolume,
  lockedVolumesOf,
  type NewVolume,
  type VolumeOperationRow,
  type VolumeRow,
  type VolumeWithOwner,
} from './volume-rows.ts';

export type {
  NewVolume,
  VolumeBackupRow,
  VolumeOperationKind,
  VolumeOperationRow,
  VolumeRow,
  VolumeWithOwner,
} from './volume-rows.ts';

/**
 * Named Docker volumes of environments: what each replica mounts, and which
 * process types are single-writer. A volume being deleted (`deleting_at`) is no longer the environment's: it
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
    return volumeMounts(await this.list(environmentId), processType);
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
      return addVolumeOperation(tx, volume.id, 'delete', { options });
    });
  }

  /** Removes the volume's row (its operations go with it; its backups stay, detached). */
  async remove(id: string): Promise<void> {
    await this.db.delete(volumes).where(eq(volumes.id, id));
  }
}

/** What a replica of `processType` mounts of `rows` (an environment's volumes): Docker volume name → mount path. */
export function volumeMounts(
  rows: readonly Pick<VolumeRow, 'dockerName' | 'mountPath' | 'processTypes'>[],
  processType: string,
): Record<string, string> {
  return Object.fromEntries(rows.filter((r) => r.processTypes.includes(processType)).map((r) => [r.dockerName, r.mountPath]));
}
