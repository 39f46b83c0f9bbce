import { sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { leases } from '../schema.ts';

/**
 * Named leases in Postgres: one holder at a time. A holder renews its lease
 * well within `ttlMs`; when it dies, the lease expires and the next caller
 * takes it. The database's clock decides, so the workers' clocks may differ.
 */
export class LeaseStore {
  constructor(private readonly db: Db) {}

  /** Takes or renews `name` for `holder` for `ttlMs`; true when `holder` has it now. */
  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const interval = `${Math.max(1, Math.round(ttlMs))} milliseconds`;
    const rows = await this.db
      .insert(leases)
      .values({ name, holder, expiresAt: sql`now() + ${interval}::interval` })
      .onConflictDoUpdate({
        target: leases.name,
        set: {
          holder,
          expiresAt: sql`now() + ${interval}::interval`,
          acquiredAt: sql`case when ${leases.holder} = ${holder} then ${leases.acquiredAt} else now() end`,
        },
        setWhere: sql`${leases.holder} = ${holder} or ${leases.expiresAt} < now()`,
      })
      .returning({ holder: leases.holder });
    return rows[0]?.holder === holder;
  }

  /** Gives `name` up at once (a clean stop), if `holder` has it. */
  async release(name: string, holder: string): Promise<void> {
    await this.db.execute(sql`delete from ${leases} where ${leases.name} = ${name} and ${leases.holder} = ${holder}`);
  }

  /** Who holds `name` now, if anyone. */
  async holder(name: string): Promise<string | null> {
    const rows = await this.db.execute<{ holder: string }>(
      sql`select ${leases.holder} as holder from ${leases} where ${leases.name} = ${name} and ${leases.expiresAt} >= now()`,
    );
    return (rows as unknown as { holder: string }[])[0]?.holder ?? null;
  }
}
