import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { pullRequestEvents } from '../schema.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A pull_request delivery seen against the newest one applied to its pull request. */
export type PullRequestEventOrder = { current: true } | { current: false; newer: { updatedAt: Date; closed: boolean } };

/**
 * In the delivery's transaction: records a pull_request delivery (`close`, or
 * `open` for an open or new head, or `reopen`) as the newest of its pull
 * request, unless one already applied is newer by the pull request's
 * `updated_at`. GitHub gives that time to the second, so at a tie: a close wins
 * over an open or a new head (a `synchronize` of the closing second never
 * brings a preview back), a reopen wins over a close (it can only follow one),
 * and otherwise the later delivery applies. The row stays locked until the
 * transaction ends: two deliveries of one pull request are applied one after
 * the other. Without a time (`updatedAt` null) nothing can be ordered and the
 * delivery applies.
 */
export async function recordPullRequestEvent(
  tx: Tx,
  appId: string,
  number: number,
  updatedAt: Date | null,
  kind: 'open' | 'reopen' | 'close',
): Promise<PullRequestEventOrder> {
  if (!updatedAt) return { current: true };
  const closed = kind === 'close';
  const winsTie = kind === 'open' ? sql`not pull_request_events.closed` : sql`true`;
  const [applied] = await tx
    .insert(pullRequestEvents)
    .values({ appId, number, updatedAt, closed })
    .onConflictDoUpdate({
      target: [pullRequestEvents.appId, pullRequestEvents.number],
      set: { updatedAt: sql`excluded.updated_at`, closed: sql`excluded.closed` },
      // The stored row by its table's name, the delivery's as `excluded`.
      setWhere: sql`pull_request_events.updated_at < excluded.updated_at
        or (pull_request_events.updated_at = excluded.updated_at and ${winsTie})`,
    })
    .returning({ appId: pullRequestEvents.appId });
  if (applied) return { current: true };
  const [newer] = await tx
    .select({ updatedAt: pullRequestEvents.updatedAt, closed: pullRequestEvents.closed })
    .from(pullRequestEvents)
    .where(and(eq(pullRequestEvents.appId, appId), eq(pullRequestEvents.number, number)))
    .for('update');
  if (!newer) throw new Error('pull request event row vanished inside its transaction');
  return { current: false, newer };
}
