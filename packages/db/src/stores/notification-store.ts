import {
  type ChannelKind,
  type ChannelSettings,
  ConflictError,
  type EventKind,
  NotFoundError,
  type SecretBox,
  type TestMessage,
} from '@pier/core';
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { EVENTS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import type { NotificationChannelRow, NotificationDeliveryRow } from '../schema/observability.ts';
import { apps, notificationChannels, notificationDeliveries, notificationSubscriptions } from '../schema.ts';
import { isUniqueViolation } from './pg-errors.ts';

/** A subscription as asked for: one app's events (or the host's: null), by kind (empty: every kind). */
export interface SubscriptionInput {
  appId: string | null;
  kinds: EventKind[];
}

export interface NewChannel {
  /** The app whose channel it is; null: a host channel (admin only). */
  appId: string | null;
  name: string;
  settings: ChannelSettings;
  /** What may be shown: the target host, the recipients. */
  target: string;
  /** What it hears. An app channel hears its app; a host channel the host and the apps listed. */
  subscriptions: SubscriptionInput[];
  /** A host channel that hears every app, also those made later. */
  allApps?: boolean;
}

/** A channel as the API shows it: never its settings. */
export interface ChannelView {
  id: string;
  name: string;
  kind: ChannelKind;
  target: string;
  enabled: boolean;
  createdAt: Date;
  /** Event kinds it hears (empty: every kind). */
  events: EventKind[];
  /** A host channel's apps by name (`['*']`: every app); an app channel's: its own. */
  apps: string[];
}

/** A channel with its settings opened, for the notifier's senders. */
export interface OpenedChannel {
  id: string;
  name: string;
  kind: ChannelKind;
  settings: ChannelSettings;
}

/**
 * Notification channels and their subscriptions. A channel's settings (URLs,
 * the webhook's signing secret, SMTP password) are sealed with the SecretBox
 * for that channel (`notification-channel:<id>`); `target` is all that is
 * shown of them. Deliveries are read here; they are made and sent through
 * NotificationQueue.
 */
/** The most notification channels one app may have: one app cannot crowd out the others' notifications. */
export const MAX_CHANNELS_PER_APP = 10;

export class NotificationStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /**
   * Records a channel with its subscriptions; ConflictError naming `name`
   * when the scope has one of that name, or when the app has
   * MAX_CHANNELS_PER_APP already (counted under a lock of the app's row).
   */
  async create(input: NewChannel): Promise<ChannelView> {
    try {
      const id = await this.db.transaction(async (tx) => {
        if (input.appId !== null) {
          await tx.select({ id: apps.id }).from(apps).where(eq(apps.id, input.appId)).for('update');
          const [count] = await tx
            .select({ n: sql<number>`count(*)::int` })
            .from(notificationChannels)
            .where(eq(notificationChannels.appId, input.appId));
          if ((count?.n ?? 0) >= MAX_CHANNELS_PER_APP) {
            throw new ConflictError(
              `name: an app has at most ${MAX_CHANNELS_PER_APP} notification channels; delete one before adding ${input.name}`,
            );
          }
        }
        const [row] = await tx
          .insert(notificationChannels)
          .values({
            appId: input.appId,
            name: input.name,
            kind: input.settings.kind,
            configCiphertext: '',
            keyId: '',
            target: input.target,
          })
          .returning({ id: notificationChannels.id });
        const channelId = (row as { id: string }).id;
        const sealed = this.box.seal(JSON.stringify(input.settings), channelContext(channelId));
        await tx
          .update(notificationChannels)
          .set({ configCiphertext: sealed.ciphertext, keyId: sealed.keyId })
          .where(eq(notificationChannels.id, channelId));
        const subscriptions = input.subscriptions.map((s) => ({
          channelId,
          appId: s.appId,
          allApps: s.appId === null && input.allApps === true,
          kinds: s.kinds,
        }));
        if (subscriptions.length > 0) await tx.insert(notificationSubscriptions).values(subscriptions);
        return channelId;
      });
      return (await this.#views(eq(notificationChannels.id, id)))[0] as ChannelView;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`name: a notification channel named ${input.name} already exists`);
      throw err;
    }
  }

  /** An app's channels (appId), or the host's (null), by name. */
  async list(appId: string | null): Promise<ChannelView[]> {
    return this.#views(scope(appId));
  }

  async get(appId: string | null, name: string): Promise<ChannelView> {
    const [view] = await this.#views(and(scope(appId), eq(notificationChannels.name, name)));
    if (!view) throw new NotFoundError(`notification channel ${name} not found`);
    return view;
  }

  /** Deletes a channel with its subscriptions and deliveries; false when there was none. */
  async delete(appId: string | null, name: string): Promise<boolean> {
    const rows = await this.db
      .delete(notificationChannels)
      .where(and(scope(appId), eq(notificationChannels.name, name)))
      .returning({ id: notificationChannels.id });
    return rows.length > 0;
  }

  /**
   * Queues a test message to the channel (sent like any delivery) and wakes
   * the notifier; ConflictError while the channel's previous test message is
   * still pending (one at a time: tests never crowd out other channels).
   */
  async queueTest(channelId: string, message: TestMessage): Promise<NotificationDeliveryRow> {
    const throttleKey = `test:${channelId}`;
    return this.db.transaction(async (tx) => {
      await tx
        .select({ id: notificationChannels.id })
        .from(notificationChannels)
        .where(eq(notificationChannels.id, channelId))
        .for('update');
      const [pending] = await tx
        .select({ id: notificationDeliveries.id })
        .from(notificationDeliveries)
        .where(
          and(
            eq(notificationDeliveries.channelId, channelId),
            eq(notificationDeliveries.throttleKey, throttleKey),
            eq(notificationDeliveries.state, 'pending'),
          ),
        )
        .limit(1);
      if (pending) {
        throw new ConflictError(
          `name: a test message to this channel is still being sent (delivery ${pending.id}); try again once it is`,
        );
      }
      const [row] = await tx
        .insert(notificationDeliveries)
        .values({ channelId, eventId: null, throttleKey, payload: message })
        .returning();
      await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, 'test')`);
      return row as NotificationDeliveryRow;
    });
  }

  /** A channel's most recent deliveries, newest first. */
  async deliveries(channelId: string, limit: number): Promise<NotificationDeliveryRow[]> {
    return this.db
      .select()
      .from(notificationDeliveries)
      .where(eq(notificationDeliveries.channelId, channelId))
      .orderBy(desc(notificationDeliveries.id))
      .limit(limit);
  }

  /** Opens a channel's sealed settings (the notifier's senders only). */
  open(row: Pick<NotificationChannelRow, 'id' | 'name' | 'kind' | 'configCiphertext' | 'keyId'>): OpenedChannel {
    const plain = this.box.open({ keyId: row.keyId, ciphertext: row.configCiphertext }, channelContext(row.id));
    return { id: row.id, name: row.name, kind: row.kind as ChannelKind, settings: JSON.parse(plain) as ChannelSettings };
  }

  /** Channels with their subscriptions and the names of the apps they hear. */
  async #views(where: ReturnType<typeof and>): Promise<ChannelView[]> {
    const rows = await this.db
      .select({
        id: notificationChannels.id,
        name: notificationChannels.name,
        kind: notificationChannels.kind,
        target: notificationChannels.target,
        enabled: notificationChannels.enabled,
        createdAt: notificationChannels.createdAt,
        channelApp: notificationChannels.appId,
      })
      .from(notificationChannels)
      .where(where)
      .orderBy(notificationChannels.name);
    if (rows.length === 0) return [];
    const subs = await this.db
      .select({
        channelId: notificationSubscriptions.channelId,
        kinds: notificationSubscriptions.kinds,
        allApps: notificationSubscriptions.allApps,
        app: apps.name,
      })
      .from(notificationSubscriptions)
      .leftJoin(apps, eq(apps.id, notificationSubscriptions.appId))
      .where(
        inArray(
          notificationSubscriptions.channelId,
          rows.map((r) => r.id),
        ),
      );
    return rows.map((row) => {
      const own = subs.filter((s) => s.channelId === row.id);
      const kinds = new Set<string>();
      const names: string[] = [];
      for (const sub of own) {
        for (const kind of sub.kinds) kinds.add(kind);
        if (sub.allApps) names.unshift('*');
        else if (sub.app) names.push(sub.app);
      }
      return {
        id: row.id,
        name: row.name,
        kind: row.kind as ChannelKind,
        target: row.target,
        enabled: row.enabled,
        createdAt: row.createdAt,
        events: [...kinds].sort() as EventKind[],
        apps: names,
      };
    });
  }
}

/** The context a channel's settings are sealed for: they do not open in another row. */
export const channelContext = (channelId: string) => `notification-channel:${channelId}`;

function scope(appId: string | null) {
  return appId === null ? isNull(notificationChannels.appId) : eq(notificationChannels.appId, appId);
}
