import { and, eq, inArray, sql } from 'drizzle-orm';
import { ROUTES_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { environments, replicas } from '../schema.ts';

export type ReplicaRow = typeof replicas.$inferSelect;
export type ReplicaState = ReplicaRow['state'];

/**
 * Replicas of releases and which of them serve traffic. The switch from one
 * release to the next is one transaction followed by a NOTIFY, so the proxy
 * never sees half of it.
 */
export class ReplicaStore {
  constructor(private readonly db: Db) {}

  async add(environmentId: string, releaseId: string, containerName: string): Promise<ReplicaRow> {
    const [row] = await this.db.insert(replicas).values({ environmentId, releaseId, containerName }).returning();
    if (!row) throw new Error('insert returned no row');
    return row;
  }

  async attach(id: string, containerId: string, hostPort: number | null): Promise<void> {
    await this.db.update(replicas).set({ containerId, hostPort, updatedAt: new Date() }).where(eq(replicas.id, id));
  }

  list(environmentId: string, states?: readonly ReplicaState[]): Promise<ReplicaRow[]> {
    const where = states
      ? and(eq(replicas.environmentId, environmentId), inArray(replicas.state, [...states]))
      : eq(replicas.environmentId, environmentId);
    return this.db.select().from(replicas).where(where);
  }

  /**
   * Makes `releaseId` live: its `replicaIds` serve, every other serving
   * replica of the environment drains, the environment's desired release
   * becomes `releaseId`. Returns the replicas now draining.
   */
  async switchTo(environmentId: string, releaseId: string, replicaIds: string[]): Promise<ReplicaRow[]> {
    return this.db.transaction(async (tx) => {
      await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, environmentId)).for('update');
      const now = new Date();
      const draining = await tx
        .update(replicas)
        .set({ state: 'draining', updatedAt: now })
        .where(and(eq(replicas.environmentId, environmentId), eq(replicas.state, 'serving')))
        .returning();
      if (replicaIds.length > 0) {
        await tx
          .update(replicas)
          .set({ state: 'serving', healthy: true, unhealthySince: null, updatedAt: now })
          .where(inArray(replicas.id, replicaIds));
      }
      await tx
        .update(environments)
        .set({ desiredReleaseId: releaseId, updatedAt: now })
        .where(eq(environments.id, environmentId));
      await tx.execute(sql`select pg_notify(${ROUTES_CHANNEL}, ${environmentId})`);
      return draining.filter((r) => !replicaIds.includes(r.id));
    });
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
