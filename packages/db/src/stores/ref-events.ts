import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { refEvents } from '../schema.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A deploying delivery seen against the newest one applied to its ref. */
export type RefEventOrder = { current: true } | { current: false; newer: { at: Date; identities: string[] } };

/**
 * In the delivery's transaction: records a push, merge or release as the
 * newest of its app and `key`, unless the one applied is newer. GitHub's
 * times are to the second: at a tie the delivery applies when it names
 * something not yet applied in that second (two pushes in one second), and
 * not when it names a commit or release already applied then (a replay, or a
 * push and the merge it made), so replaying two pushes of one second in turn
 * cannot flip the ref back and forth. The row keeps the identities of its
 * second, space-separated, and stays locked until the transaction ends, so
 * two deliveries of one ref are applied one after the other.
 */
export async function recordRefEvent(tx: Tx, appId: string, key: string, at: Date, identity: string): Promise<RefEventOrder> {
  const [applied] = await tx
    .insert(refEvents)
    .values({ appId, key, at, identity })
    .onConflictDoUpdate({
      target: [refEvents.appId, refEvents.key],
      set: {
        at: sql`excluded.at`,
        identity: sql`case when ref_events.at = excluded.at then ref_events.identity || ' ' || excluded.identity
          else excluded.identity end`,
      },
      // The stored row by its table's name, the delivery's as `excluded`.
      setWhere: sql`ref_events.at < excluded.at
        or (ref_events.at = excluded.at and excluded.identity <> all (string_to_array(ref_events.identity, ' ')))`,
    })
    .returning({ appId: refEvents.appId });
  if (applied) return { current: true };
  const [newer] = await tx
    .select({ at: refEvents.at, identity: refEvents.identity })
    .from(refEvents)
    .where(and(eq(refEvents.appId, appId), eq(refEvents.key, key)))
    .for('update');
  if (!newer) throw new Error('ref event row vanished inside its transaction');
  return { current: false, newer: { at: newer.at, identities: newer.identity.split(' ') } };
}
