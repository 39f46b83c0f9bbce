import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { refEvents } from '../schema.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A deploying delivery seen against the newest one applied to its ref. */
export type RefEventOrder = { current: true } | { current: false; newer: { at: Date; identity: string } };

/**
 * In the delivery's transaction: records a push, merge or release as the
 * newest of its app and `key`, unless the one applied is newer. GitHub's
 * times are to the second: at a tie the delivery applies when it names
 * something else (two pushes in one second), and not when it names the same
 * commit or release (a replay, or a push and the merge it made). The row
 * stays locked until the transaction ends, so two deliveries of one ref are
 * applied one after the other.
 */
export async function recordRefEvent(tx: Tx, appId: string, key: string, at: Date, identity: string): Promise<RefEventOrder> {
  const [applied] = await tx
    .insert(refEvents)
    .values({ appId, key, at, identity })
    .onConflictDoUpdate({
      target: [refEvents.appId, refEvents.key],
      set: { at: sql`excluded.at`, identity: sql`excluded.identity` },
      // The stored row by its table's name, the delivery's as `excluded`.
      setWhere: sql`ref_events.at < excluded.at or (ref_events.at = excluded.at and ref_events.identity <> excluded.identity)`,
    })
    .returning({ appId: refEvents.appId });
  if (applied) return { current: true };
  const [newer] = await tx
    .select({ at: refEvents.at, identity: refEvents.identity })
    .from(refEvents)
    .where(and(eq(refEvents.appId, appId), eq(refEvents.key, key)))
    .for('update');
  if (!newer) throw new Error('ref event row vanished inside its transaction');
  return { current: false, newer };
}
