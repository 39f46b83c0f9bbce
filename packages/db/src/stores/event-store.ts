import type { EventKind, EventRecorder, NewEvent } from '@pier/core';
import { and, desc, eq, gte, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import type { EventRow } from '../schema/observability.ts';
import { events } from '../schema.ts';
import { insertEvent } from './deployment-event-log.ts';

export interface EventPage {
  events: EventRow[];
  /** Pass as `before` for the next (older) page; null on the last one. */
  next: number | null;
}

export interface EventQuery {
  /** One app's events; `null`: the host's; absent: every event. */
  appId?: string | null;
  environmentId?: string;
  kinds?: EventKind[];
  /** Only events older than this id (paging backwards). */
  before?: number;
  /** Only events recorded at or after `since` and before `until`. */
  since?: Date;
  until?: Date;
  limit: number;
}

/**
 * The event log: one row per thing that happened, newest first when read.
 * Recording never fails its caller's work (a recording that cannot be made is
 * logged by `onError` and dropped), and a `dedupeKey` seen before records
 * nothing. Each recording NOTIFYs `pier_events`, which wakes the notifier.
 */
export class EventStore implements EventRecorder {
  constructor(
    private readonly db: Db,
    private readonly onError: (error: unknown, event: NewEvent) => void = (error, event) =>
      process.stderr.write(`pier: could not record a ${event.kind} event: ${(error as Error).message}\n`),
  ) {}

  async record(event: NewEvent): Promise<number | null> {
    try {
      return await this.recordOrThrow(event);
    } catch (error) {
      this.onError(error, event);
      return null;
    }
  }

  /**
   * As `record`, for a caller that moves on only once the event is in the log
   * (a watch's cursor): null when its `dedupeKey` was recorded before, and a
   * recording that cannot be made throws instead of being dropped.
   */
  recordOrThrow(event: NewEvent): Promise<number | null> {
    return insertEvent(this.db, event);
  }

  /**
   * Deletes up to `limit` events recorded before `before`, oldest first
   * (their notification deliveries go with them); returns how many.
   */
  async deleteBefore(before: Date, limit: number): Promise<number> {
    const deleted = await this.db.execute(sql`
      delete from events where id in (
        select id from events where created_at < ${before.toISOString()}::timestamptz order by id limit ${limit})`);
    return (deleted as unknown as { count?: number }).count ?? 0;
  }

  /** A page of events, newest first. */
  async list(query: EventQuery): Promise<EventPage> {
    const conditions = [];
    if (query.appId === null) conditions.push(isNull(events.appId));
    else if (query.appId !== undefined) conditions.push(eq(events.appId, query.appId));
    if (query.environmentId) conditions.push(eq(events.environmentId, query.environmentId));
    if (query.kinds?.length) conditions.push(inArray(events.kind, query.kinds));
    if (query.before !== undefined) conditions.push(lt(events.id, query.before));
    if (query.since) conditions.push(gte(events.createdAt, query.since));
    if (query.until) conditions.push(lt(events.createdAt, query.until));
    const rows = await this.db
      .select()
      .from(events)
      .where(and(...conditions))
      .orderBy(desc(events.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    return { events: page, next: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null };
  }
}
