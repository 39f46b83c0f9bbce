import { and, eq, inArray, sql } from 'drizzle-orm';
import { ROUTES_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { replicas } from '../schema.ts';

export type ReplicaRow = typeof replicas.$inferSelect;
export type ReplicaState = ReplicaRow['state'];

/**
 * Replicas of releases and which of them serve traffic. Every change of who
 * serves is one transaction followed by a NOTIFY, so the proxy never sees half
 * of it; the switch from one release to the next is `RolloutStore.succeed`.
 */
export class ReplicaStore {
  constructor(private readonly db: Db) {}

  /** A new replica of `processType` (default web) with the limits it starts with (what the capacity guard counts). */
  async add(
    environmentId: string,
    releaseId: string,
    containerName: string,
    process: { type?: string; memoryMb?: number; cpus?: number } = {},
  ): Promise<ReplicaRow> {
    const [row] = await this.db
      .insert(replicas)
      .values({
        environmentId,
        releaseId,
        containerName,
        processType: process.type ?? 'web',
        memoryMb: process.memoryMb ?? null,
        cpus: process.cpus ?? null,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    return row;
  }

  /** Records the started container and where it answers, as the runtime reported. */
  async attach(id: string, containerId: string, address: { host: string; port: number } | null): Promise<void> {
    await this.db
      .update(replicas)
      .set({ containerId, host: address?.host ?? null, port: address?.port ?? null, updatedAt: new Date() })
      .where(eq(replicas.id, id));
  }

  list(environmentId: string, states?: readonly ReplicaState[]): Promise<ReplicaRow[]> {
    const where = states
      ? and(eq(replicas.environmentId, environmentId), inArray(replicas.state, [...states]))
      : eq(replicas.environmentId, environmentId);
    return this.db.select().from(replicas).where(where);
  }

  /** Adds replicas of the live release to rotation (a replacement after a crash). */
  async serve(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.transaction(async (tx) => {
      await tx
        .update(replicas)
        .set({ state: 'serving', healthy: true, unhealthySince: null, updatedAt: new Date() })
        .where(inArray(replicas.id, ids));
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, 'serve')`);
    });
  }

  /** Every replica row, for the reconciler. */
  all(): Promise<ReplicaRow[]> {
    return this.db.select().from(replicas);
  }

  /** Takes replicas out of rotation; they are stopped once drained. */
  async drain(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.transaction(async (tx) => {
      await tx.update(replicas).set({ state: 'draining', updatedAt: new Date() }).where(inArray(replicas.id, ids));
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, 'drain')`);
    });
  }

  /** Takes replicas out of rotation for good and forgets them. */
  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.transaction(async (tx) => {
      await tx.delete(replicas).where(inArray(replicas.id, ids));
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, 'remove')`);
    });
  }

  /** Health as the proxy sees it; `unhealthySince` marks how long it has been failing. */
  async reportHealth(id: string, healthy: boolean): Promise<void> {
    await this.db
      .update(replicas)
      .set(
        healthy
          ? { healthy, unhealthySince: null }
          : { healthy, unhealthySince: sql`coalesce(${replicas.unhealthySince}, now())` },
      )
      .where(eq(replicas.id, id));
  }
}
