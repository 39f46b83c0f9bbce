import { type AppQuotas, QuotaRefusedError, quotaProblem } from '@pier/core';
import { and, eq, sql } from 'drizzle-orm';
import { ROLLOUTS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { environmentProcesses, environments } from '../schema.ts';
import { lockAppUsage } from './app-usage.ts';
import type { ProcessExit } from './environment-health-store.ts';

export type ProcessRow = typeof environmentProcesses.$inferSelect;

/** What `PATCH …/processes/:type` changes; absent fields stay, null goes back to the default. */
export interface ProcessChange {
  replicas?: number;
  memoryMb?: number | null;
  cpus?: number | null;
}

/**
 * Per environment and process type: replicas, limits, crash streak and last
 * exit (`environment_processes`). Web's replica count is the environment's
 * `replicas`, changed here in the same transaction so both stay one truth.
 */
export class ProcessStore {
  constructor(private readonly db: Db) {}

  list(environmentId: string): Promise<ProcessRow[]> {
    return this.db.select().from(environmentProcesses).where(eq(environmentProcesses.environmentId, environmentId));
  }

  async get(environmentId: string, type: string): Promise<ProcessRow | null> {
    const [row] = await this.db
      .select()
      .from(environmentProcesses)
      .where(and(eq(environmentProcesses.environmentId, environmentId), eq(environmentProcesses.type, type)));
    return row ?? null;
  }

  /**
   * Changes one type's replicas and limits within the app's replica quota
   * (`current`: the type's replicas now, as the caller counted them), and
   * wakes the reconciler.
   */
  async set(
    environmentId: string,
    type: string,
    change: ProcessChange,
    quota?: { appId: string; quotas: AppQuotas; current: number },
  ): Promise<ProcessRow> {
    return this.db.transaction(async (tx) => {
      if (quota && change.replicas !== undefined && change.replicas > quota.current) {
        const usage = await lockAppUsage(tx, quota.appId);
        const problem = quotaProblem(quota.quotas, usage, { replicas: change.replicas - quota.current });
        if (problem) throw new QuotaRefusedError(`body.replicas: ${problem}`, quota.appId);
      }
      const own = {
        ...(change.replicas !== undefined && type !== 'web' ? { replicas: change.replicas } : {}),
        ...(change.memoryMb !== undefined ? { memoryMb: change.memoryMb } : {}),
        ...(change.cpus !== undefined ? { cpus: change.cpus } : {}),
      };
      if (type === 'web' && change.replicas !== undefined) {
        await tx
          .update(environments)
          .set({ replicas: change.replicas, updatedAt: new Date() })
          .where(eq(environments.id, environmentId));
      }
      const [row] = await tx
        .insert(environmentProcesses)
        .values({ environmentId, type, ...own })
        .onConflictDoUpdate({
          target: [environmentProcesses.environmentId, environmentProcesses.type],
          set: { ...own, updatedAt: new Date() },
        })
        .returning();
      if (!row) throw new Error('upsert returned no row');
      await tx.execute(sql`select pg_notify(${ROLLOUTS_CHANNEL}, ${environmentId})`);
      return row;
    });
  }
}

export type { ProcessExit };
