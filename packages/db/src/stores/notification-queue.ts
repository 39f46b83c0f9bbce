import {
  EVENT_KINDS,
  type EventKind,
  type EventMessage,
  type NotificationMessage,
  type SecretBox,
  subscriptionHears,
  summaryDue,
  summaryMessage,
  throttleDecision,
  throttleKey,
} from '@pier/core';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import type { NotificationDeliveryRow } from '../schema/observability.ts';
import { notificationChannels, notificationDeliveries, notificationSubscriptions } from '../schema.ts';
import { NotificationStore, type OpenedChannel } from './notification-store.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** One fan-out or summary step runs at a time across workers: a transaction-scoped advisory lock (others skip). */
const NOTIFIER_LOCK = sql`select pg_try_advisory_xact_lock(hashtext('pier_notifier')) as locked`;

/** A claimed delivery with its channel's opened settings. */
export interface ClaimedDelivery {
  delivery: NotificationDeliveryRow & { payload: NotificationMessage };
  channel: OpenedChannel;
}

interface UnnotifiedEvent extends Record<string, unknown> {
  id: number;
  app_id: string | null;
  app_name: string | null;
  env_name: string | null;
  kind: string;
  message: string;
  data: Record<string, unknown>;
  created_at: Date | string;
}

/**
 * The durable side of notifications: events fanned out into one delivery per
 * channel that hears them (held back by the throttle or not), summaries of
 * what was held back, and the deliveries that workers claim, send and end.
 * The decisions (throttle, summary, retry) are core's; this persists them,
 * on Postgres's clock.
 */
export class NotificationQueue {
  readonly #channels: NotificationStore;

  constructor(
    private readonly db: Db,
    box: SecretBox,
  ) {
    this.#channels = new NotificationStore(db, box);
  }

  /**
   * Fans out up to `limit` events not yet notified (oldest first, claimed with
   * `for update skip locked`): one delivery per enabled channel that hears
   * each (the unique (channel, event) makes it once), `pending` or
   * `suppressed` by the throttle of `windowMs`, and marks them notified in
   * the same transaction. Returns how many events it fanned out (0 while
   * another worker fans out).
   */
  async fanOut(limit: number, windowMs: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      if (!(await locked(tx))) return 0;
      const batch = await tx.execute<UnnotifiedEvent>(sql`
        select e.id, e.app_id, a.name as app_name, e.env_name, e.kind, e.message, e.data, e.created_at
        from events e left join apps a on a.id = e.app_id
        where e.notified_at is null
        order by e.id
        limit ${limit}
        for update of e skip locked`);
      if (batch.length === 0) return 0;
      const subscriptions = await tx
        .select({
          channelId: notificationSubscriptions.channelId,
          appId: notificationSubscriptions.appId,
          allApps: notificationSubscriptions.allApps,
          kinds: notificationSubscriptions.kinds,
        })
        .from(notificationSubscriptions)
        .innerJoin(notificationChannels, eq(notificationChannels.id, notificationSubscriptions.channelId))
        .where(eq(notificationChannels.enabled, true));
      const now = await postgresNow(tx);
      for (const event of batch) {
        const listeners = new Set(
          subscriptions.filter((s) => subscriptionHears(s, { appId: event.app_id, kind: event.kind })).map((s) => s.channelId),
        );
        const key = throttleKey({ appId: event.app_id, envName: event.env_name, kind: event.kind, data: event.data });
        for (const channelId of listeners) {
          const openedAt = await windowOpenedAt(tx, channelId, key);
          const state = throttleDecision(openedAt, now, windowMs) === 'send' ? 'pending' : 'suppressed';
          // The window before this one is summed up first, so its summary comes before this message.
          if (state === 'pending' && openedAt !== null) await summariseWindows(tx, windowMs, { channelId, key });
          await tx
            .insert(notificationDeliveries)
            .values({ channelId, eventId: event.id, throttleKey: key, state, payload: eventMessage(event), createdAt: now })
            .onConflictDoNothing();
        }
      }
      await tx.execute(
        sql`update events set notified_at = now() where id in ${sql.raw(`(${batch.map((e) => Number(e.id)).join(',')})`)}`,
      );
      return batch.length;
    });
  }

  /**
   * Records one summary delivery for each throttle window that ended with
   * events held back in it (how many, the first and last time), once per
   * window. Returns how many it recorded.
   */
  async summarise(windowMs: number): Promise<number> {
    return this.db.transaction(async (tx) => ((await locked(tx)) ? summariseWindows(tx, windowMs) : 0));
  }

  /**
   * Claims up to `limit` pending deliveries that are due and not held by
   * another worker (`for update skip locked`), each for `leaseMs` (an attempt
   * more: the attempt count fences out a holder whose lease ran out), with
   * its channel's settings opened. Fair across channels: at most one per
   * channel (its oldest due), and none of a channel one of whose deliveries
   * is being sent, so one channel's messages go out one at a time and in
   * order, and a channel with a long backlog takes one place of `limit`.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const rows = await this.db.execute<{ id: number }>(sql`
      update notification_deliveries set attempts = attempts + 1,
        locked_until = now() + ${`${leaseMs} milliseconds`}::interval
      where id in (
        select id from notification_deliveries
        where state = 'pending' and (locked_until is null or locked_until <= now())
          and id in (
            select id from (
              select d.id, d.next_attempt_at,
                row_number() over (partition by d.channel_id order by d.next_attempt_at, d.id) as place
              from notification_deliveries d
              where d.state = 'pending' and d.next_attempt_at <= now() and (d.locked_until is null or d.locked_until <= now())
                and not exists (
                  select 1 from notification_deliveries held
                  where held.channel_id = d.channel_id and held.state = 'pending' and held.locked_until > now())
            ) due
            where place = 1
            order by next_attempt_at, id
            limit ${limit})
        for update skip locked)
      returning id`);
    if (rows.length === 0) return [];
    const deliveries = await this.db
      .select()
      .from(notificationDeliveries)
      .where(
        inArray(
          notificationDeliveries.id,
          rows.map((r) => Number(r.id)),
        ),
      );
    const channels = await this.db
      .select()
      .from(notificationChannels)
      .where(inArray(notificationChannels.id, [...new Set(deliveries.map((d) => d.channelId))]));
    // A channel whose settings cannot be opened (a sealing key gone) ends its own deliveries, not the claim.
    const opened = new Map<string, OpenedChannel>();
    for (const channel of channels) {
      try {
        opened.set(channel.id, this.#channels.open(channel));
      } catch {
        for (const d of deliveries.filter((d) => d.channelId === channel.id)) {
          await this.dead(d.id, d.attempts, "the channel's settings cannot be opened");
        }
      }
    }
    return deliveries
      .sort((a, b) => a.id - b.id)
      .filter((d) => opened.has(d.channelId))
      .map((d) => ({
        delivery: d as ClaimedDelivery['delivery'],
        channel: opened.get(d.channelId) as OpenedChannel,
      }));
  }

  /**
   * Deletes up to `limit` ended deliveries (sent, suppressed, dead) older
   * than `maxAgeMs`; pending ones stay whatever their age. Returns how many.
   */
  async prune(maxAgeMs: number, limit = 10_000): Promise<number> {
    const rows = await this.db.execute<{ id: number }>(sql`
      delete from notification_deliveries where id in (
        select id from notification_deliveries
        where state <> 'pending' and created_at < now() - ${`${maxAgeMs} milliseconds`}::interval
        limit ${limit})
      returning id`);
    return rows.length;
  }

  /** The delivery was accepted; false when it is no longer this attempt's. */
  async sent(id: number, attempts: number): Promise<boolean> {
    return this.#end(id, attempts, { state: 'sent', sentAt: sql`now()`, lastError: null });
  }

  /** Another attempt at `nextAttemptAt`, keeping why this one failed (without secrets). */
  async retry(id: number, attempts: number, nextAttemptAt: Date, error: string): Promise<boolean> {
    return this.#end(id, attempts, { nextAttemptAt, lastError: error });
  }

  /** Given up: dead, keeping the last error. */
  async dead(id: number, attempts: number, error: string): Promise<boolean> {
    return this.#end(id, attempts, { state: 'dead', lastError: error });
  }

  async #end(id: number, attempts: number, change: Partial<Record<string, unknown>>): Promise<boolean> {
    const rows = await this.db
      .update(notificationDeliveries)
      .set({ ...change, lockedUntil: null })
      .where(
        and(
          eq(notificationDeliveries.id, id),
          eq(notificationDeliveries.attempts, attempts),
          eq(notificationDeliveries.state, 'pending'),
        ),
      )
      .returning({ id: notificationDeliveries.id });
    return rows.length > 0;
  }
}

/**
 * Summaries of the ended windows (of one channel and key when `only` is
 * given) that held events back and have none yet. A summary comes before the
 * next window's first delivery: fan-out calls this for the key before it
 * opens a new window, so every summary after a window's opening is that
 * window's own.
 */
async function summariseWindows(tx: Tx, windowMs: number, only?: { channelId: string; key: string }): Promise<number> {
  const window = `${windowMs} milliseconds`;
  const scope = only ? sql`and o.channel_id = ${only.channelId} and o.throttle_key = ${only.key}` : sql``;
  const windows = await tx.execute<{
    channel_id: string;
    throttle_key: string;
    opened_at: Date | string;
    payload: NotificationMessage;
    count: number;
    first: Date | string;
    last: Date | string;
  }>(sql`
    select o.channel_id, o.throttle_key, o.created_at as opened_at, o.payload,
      count(d.id)::int as count, min(e.created_at) as first, max(e.created_at) as last
    from notification_deliveries o
    join notification_deliveries d on d.channel_id = o.channel_id and d.throttle_key = o.throttle_key
      and d.id > o.id and d.state = 'suppressed' and d.created_at >= o.created_at
      and d.created_at < o.created_at + ${window}::interval
    join events e on e.id = d.event_id
    where o.event_id is not null and o.state <> 'suppressed' ${scope}
      and o.created_at <= now() - ${window}::interval
      and o.created_at > now() - ${window}::interval - interval '7 days'
      and not exists (
        select 1 from notification_deliveries s
        where s.channel_id = o.channel_id and s.throttle_key = o.throttle_key and s.event_id is null and s.id > o.id
          and s.created_at >= o.created_at)
    group by o.id
    order by o.id
    limit 100`);
  const now = await postgresNow(tx);
  let recorded = 0;
  for (const w of windows) {
    if (!summaryDue(new Date(w.opened_at), now, windowMs, w.count)) continue;
    const payload = summaryMessage({
      eventKind: w.payload.kind === 'summary' ? w.payload.eventKind : w.payload.kind,
      app: w.payload.app,
      env: w.payload.env,
      count: w.count,
      first: new Date(w.first).toISOString(),
      last: new Date(w.last).toISOString(),
    });
    await tx
      .insert(notificationDeliveries)
      .values({ channelId: w.channel_id, eventId: null, throttleKey: w.throttle_key, payload });
    recorded += 1;
  }
  return recorded;
}

async function locked(tx: Tx): Promise<boolean> {
  const [row] = await tx.execute<{ locked: boolean }>(NOTIFIER_LOCK);
  return row?.locked === true;
}

async function postgresNow(tx: Tx): Promise<Date> {
  const [row] = await tx.execute<{ now: Date | string }>(sql`select now() as now`);
  return new Date((row as { now: Date | string }).now);
}

/** When the key's current window opened on the channel: its newest delivery of an event that was not held back. */
async function windowOpenedAt(tx: Tx, channelId: string, key: string): Promise<Date | null> {
  const [row] = await tx.execute<{ opened: Date | string | null }>(sql`
    select max(created_at) as opened from notification_deliveries
    where channel_id = ${channelId} and throttle_key = ${key} and event_id is not null and state <> 'suppressed'`);
  return row?.opened ? new Date(row.opened) : null;
}

function eventMessage(event: UnnotifiedEvent): EventMessage {
  const kind = event.kind as EventKind;
  return {
    kind,
    severity: EVENT_KINDS[kind]?.severity ?? 'info',
    app: event.app_name,
    env: event.env_name,
    message: event.message,
    at: new Date(event.created_at).toISOString(),
    data: event.data ?? {},
  };
}
