import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { apps, environments } from './apps.ts';
import { createdAt, id, updatedAt } from './columns.ts';
import { logStream, releases } from './deployments.ts';

/**
 * Every line an app's containers wrote (replicas, release commands, runs),
 * kept by Pier so it outlives its container. Written in batches by the
 * worker's log collector; `id` orders them for readers and drains.
 */
export const logLines = pgTable(
  'log_lines',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    /** When the container wrote it (the engine's timestamp). */
    at: timestamp('at', { withTimezone: true, precision: 6 }).notNull(),
    /** When Pier stored it: drains read only lines stored a moment ago, so a batch still committing is not skipped. */
    storedAt: timestamp('stored_at', { withTimezone: true, precision: 6 }).notNull().defaultNow(),
    /** `replica`, `release` (release command), `run` (one-off) or `cron`. */
    source: text('source').notNull(),
    /** The process type of a replica (`web`, `worker`, …); `release`, `run` or `cron` otherwise. */
    processType: text('process_type').notNull(),
    /** The container's name (`<app>-<env>-…`). */
    replica: text('replica').notNull(),
    releaseId: uuid('release_id'),
    releaseVersion: integer('release_version'),
    stream: logStream('stream').notNull(),
    line: text('line').notNull(),
  },
  (t) => [
    index('log_lines_environment_at').on(t.environmentId, t.at),
    index('log_lines_environment_id').on(t.environmentId, t.id),
  ],
);

/** What the log store holds per environment, kept with each batch, so retention by size needs no scan. */
export const logUsage = pgTable('log_usage', {
  environmentId: uuid('environment_id')
    .primaryKey()
    .references(() => environments.id, { onDelete: 'cascade' }),
  bytes: bigint('bytes', { mode: 'number' }).notNull().default(0),
  lines: bigint('lines', { mode: 'number' }).notNull().default(0),
  /** Per environment overrides of the retention defaults (null: the configured default). */
  retentionDays: integer('retention_days'),
  retentionMb: integer('retention_mb'),
  updatedAt: updatedAt(),
});

/** How far the collector read each container's output, so a restarted worker neither loses nor repeats lines. */
export const logCursors = pgTable('log_cursors', {
  containerId: text('container_id').primaryKey(),
  environmentId: uuid('environment_id')
    .notNull()
    .references(() => environments.id, { onDelete: 'cascade' }),
  /** The engine's timestamp (RFC 3339, nanoseconds) of the last line stored. */
  since: text('since'),
  /** Set once the container stopped and its output was read to the end. */
  finishedAt: timestamp('finished_at', { withTimezone: true }),
  updatedAt: updatedAt(),
});

/**
 * Per app: forward every log line to a syslog (RFC 5424 over TCP or TLS) or
 * HTTPS endpoint. The URL (which may carry credentials) is sealed; `cursor`
 * is the last `log_lines.id` delivered.
 */
export const logDrains = pgTable(
  'log_drains',
  {
    id: id(),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** `syslog` or `https`. */
    kind: text('kind').notNull(),
    /** Sealed JSON `{ url, headers? }`. */
    configCiphertext: text('config_ciphertext').notNull(),
    keyId: text('key_id').notNull(),
    /** The URL without credentials, path or query, for display. */
    target: text('target').notNull(),
    cursor: bigint('cursor', { mode: 'number' }).notNull().default(0),
    delivered: bigint('delivered', { mode: 'number' }).notNull().default(0),
    /** Lines skipped because the drain fell further behind than its buffer (or retention removed them). */
    dropped: bigint('dropped', { mode: 'number' }).notNull().default(0),
    lastDeliveredAt: timestamp('last_delivered_at', { withTimezone: true }),
    failingSince: timestamp('failing_since', { withTimezone: true }),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('log_drains_app_name').on(t.appId, t.name)],
);

/**
 * Requests the edge proxies answered, per environment, release and time
 * bucket (`step` seconds: 60 for a week, then 3600). Each proxy adds what it
 * counted since its last flush; latency is a histogram over the proxy's
 * buckets, so percentiles merge across proxies and minutes.
 */
export const requestMetrics = pgTable(
  'request_metrics',
  {
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    /** The release of the replica that answered (null: no replica did, e.g. 503 with no upstream). */
    releaseId: uuid('release_id'),
    step: integer('step').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    status1xx: bigint('status_1xx', { mode: 'number' }).notNull().default(0),
    status2xx: bigint('status_2xx', { mode: 'number' }).notNull().default(0),
    status3xx: bigint('status_3xx', { mode: 'number' }).notNull().default(0),
    status4xx: bigint('status_4xx', { mode: 'number' }).notNull().default(0),
    status5xx: bigint('status_5xx', { mode: 'number' }).notNull().default(0),
    bytesIn: bigint('bytes_in', { mode: 'number' }).notNull().default(0),
    bytesOut: bigint('bytes_out', { mode: 'number' }).notNull().default(0),
    /** Counts per latency bucket (the proxy's `LATENCY_BUCKETS`, then +Inf). */
    latencyBuckets: bigint('latency_buckets', { mode: 'number' }).array().notNull(),
    latencySum: doublePrecision('latency_sum').notNull().default(0),
  },
  (t) => [
    unique('request_metrics_bucket').on(t.environmentId, t.releaseId, t.step, t.at).nullsNotDistinct(),
    index('request_metrics_at').on(t.step, t.at),
  ],
);

/** Each replica's use, per time bucket, from the container engine's statistics. */
export const replicaMetrics = pgTable(
  'replica_metrics',
  {
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    /** The container's name. */
    replica: text('replica').notNull(),
    processType: text('process_type').notNull(),
    releaseId: uuid('release_id'),
    step: integer('step').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    /** CPU time used in the bucket, seconds (cores used on average = cpuSeconds / step). */
    cpuSeconds: doublePrecision('cpu_seconds').notNull().default(0),
    /** Memory in use (without page cache) at the last sample, and the highest sample. */
    memoryBytes: bigint('memory_bytes', { mode: 'number' }).notNull().default(0),
    memoryMaxBytes: bigint('memory_max_bytes', { mode: 'number' }).notNull().default(0),
    memoryLimitBytes: bigint('memory_limit_bytes', { mode: 'number' }),
    rxBytes: bigint('rx_bytes', { mode: 'number' }).notNull().default(0),
    txBytes: bigint('tx_bytes', { mode: 'number' }).notNull().default(0),
    samples: integer('samples').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.replica, t.step, t.at] }), index('replica_metrics_at').on(t.step, t.at)],
);

/** Replicas that ended without being asked (and those the kernel killed for memory), per process type and bucket. */
export const restartMetrics = pgTable(
  'restart_metrics',
  {
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    processType: text('process_type').notNull(),
    releaseId: uuid('release_id'),
    step: integer('step').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    restarts: integer('restarts').notNull().default(0),
    oomKills: integer('oom_kills').notNull().default(0),
  },
  (t) => [unique('restart_metrics_bucket').on(t.environmentId, t.processType, t.releaseId, t.step, t.at).nullsNotDistinct()],
);

/** The host's CPU, memory, load and disks, per time bucket (`node` names the machine). */
export const hostMetrics = pgTable(
  'host_metrics',
  {
    node: text('node').notNull().default('local'),
    step: integer('step').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    /** Share of all CPUs busy over the bucket, 0–1. */
    cpuBusy: real('cpu_busy').notNull(),
    cpus: integer('cpus').notNull(),
    memoryTotalBytes: bigint('memory_total_bytes', { mode: 'number' }).notNull(),
    memoryAvailableBytes: bigint('memory_available_bytes', { mode: 'number' }).notNull(),
    load1: real('load1').notNull(),
    load5: real('load5').notNull(),
    load15: real('load15').notNull(),
    rootTotalBytes: bigint('root_total_bytes', { mode: 'number' }).notNull(),
    rootFreeBytes: bigint('root_free_bytes', { mode: 'number' }).notNull(),
    dockerTotalBytes: bigint('docker_total_bytes', { mode: 'number' }),
    dockerFreeBytes: bigint('docker_free_bytes', { mode: 'number' }),
    samples: integer('samples').notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.node, t.step, t.at] })],
);

/**
 * What happened to an app (or, with no app, to the host): one row per event,
 * never changed but for `notifiedAt`. `dedupeKey` makes an event that may be
 * noticed twice (a missed slot, an expiring certificate) recorded once.
 */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    appId: uuid('app_id').references(() => apps.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id').references(() => environments.id, { onDelete: 'set null' }),
    /** The environment's name when it happened (kept after the environment is deleted). */
    envName: text('env_name'),
    /** One of core's `EVENT_KINDS` (`deploy.failed`, `crash.loop`, …). */
    kind: text('kind').notNull(),
    /** `info`, `warning` or `critical`. */
    severity: text('severity').notNull(),
    message: text('message').notNull(),
    data: jsonb('data').notNull().default({}),
    dedupeKey: text('dedupe_key'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull().defaultNow(),
    /** Set once the notifier made its deliveries. */
    notifiedAt: timestamp('notified_at', { withTimezone: true }),
  },
  (t) => [
    index('events_app').on(t.appId, t.id),
    uniqueIndex('events_dedupe').on(t.dedupeKey),
    index('events_unnotified').on(t.id).where(sql`notified_at is null`),
  ],
);

/**
 * Where notifications go: a signed JSON webhook, a Slack-compatible incoming
 * webhook or email over SMTP. An app's channel hears that app's events; a
 * host channel (no app, admin only) hears the host's and those of the apps it
 * subscribes to. Settings with secrets are sealed.
 */
export const notificationChannels = pgTable(
  'notification_channels',
  {
    id: id(),
    appId: uuid('app_id').references(() => apps.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** `webhook`, `slack` or `email`. */
    kind: text('kind').notNull(),
    /** Sealed JSON of the settings (URL, signing secret, SMTP server and password, recipients). */
    configCiphertext: text('config_ciphertext').notNull(),
    keyId: text('key_id').notNull(),
    /** What may be shown of the settings: the target host, the recipients. */
    target: text('target').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [unique('notification_channels_name').on(t.appId, t.name).nullsNotDistinct()],
);

/** A channel's subscription to the events of one app (or of the host: no app), by kind (empty: every kind). */
export const notificationSubscriptions = pgTable(
  'notification_subscriptions',
  {
    id: id(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    appId: uuid('app_id').references(() => apps.id, { onDelete: 'cascade' }),
    /** A host channel's host subscription (no app) that hears every app's events too, apps made later included. */
    allApps: boolean('all_apps').notNull().default(false),
    kinds: text('kinds').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
  },
  (t) => [unique('notification_subscriptions_scope').on(t.channelId, t.appId).nullsNotDistinct()],
);

/**
 * One message to one channel: an event's, or the summary of those held back
 * while its kind was throttled. Retried with backoff; dead after a day.
 */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    /** The event it reports (null for a summary). */
    eventId: bigint('event_id', { mode: 'number' }).references(() => events.id, { onDelete: 'cascade' }),
    /** The throttle it belongs to (`<app>:<env>:<kind>`). */
    throttleKey: text('throttle_key').notNull(),
    /** `pending`, `sent`, `suppressed` (held back by the throttle) or `dead`. */
    state: text('state').notNull().default('pending'),
    /** The message, without secrets: `{ title, text, events }`. */
    payload: jsonb('payload').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastError: text('last_error'),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('notification_deliveries_event').on(t.channelId, t.eventId),
    index('notification_deliveries_due').on(t.nextAttemptAt).where(sql`state = 'pending'`),
    index('notification_deliveries_throttle').on(t.channelId, t.throttleKey, t.createdAt),
  ],
);

/**
 * Per environment: roll back on its own when a new release answers with
 * errors or restarts more than the one before it, within a window after the
 * rollout (null columns: the defaults).
 */
export const autoRollbackSettings = pgTable('auto_rollback_settings', {
  environmentId: uuid('environment_id')
    .primaryKey()
    .references(() => environments.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled'),
  windowSeconds: integer('window_seconds'),
  /** Share of 5xx answers (0–1) above which the new release is rolled back. */
  errorRate: real('error_rate'),
  /** Requests the new release must have answered before its error share is judged. */
  minRequests: integer('min_requests'),
  /** Restarts within the window that roll back. */
  restarts: integer('restarts'),
  updatedAt: updatedAt(),
});

/**
 * The watch over a release after its rollout made it live: `watching` until
 * `until`, then `passed`, or `rolled_back` with the reason. A release rolled
 * back this way is not promoted.
 */
export const releaseWatches = pgTable(
  'release_watches',
  {
    releaseId: uuid('release_id')
      .primaryKey()
      .references(() => releases.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    /** The release it replaced: its error share and restarts are the baseline. */
    previousReleaseId: uuid('previous_release_id').references(() => releases.id, { onDelete: 'set null' }),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    until: timestamp('until', { withTimezone: true }).notNull(),
    state: text('state').notNull().default('watching'),
    reason: text('reason'),
    /** The rollback deployment it queued. */
    rollbackDeploymentId: uuid('rollback_deployment_id'),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('release_watches_watching').on(t.until).where(sql`state = 'watching'`)],
);

/**
 * Conditions that are either firing or not (disk above its threshold, memory
 * pressure, a certificate's renewal failing): an event is recorded when one
 * starts and when it clears, not on every pass.
 */
export const alertStates = pgTable('alert_states', {
  key: text('key').primaryKey(),
  firing: boolean('firing').notNull(),
  since: timestamp('since', { withTimezone: true }).notNull().defaultNow(),
  data: jsonb('data').notNull().default({}),
});

/** How far the "missed" watch has checked each schedule (a cron job, a service's or a volume's backups). */
export const scheduleWatches = pgTable('schedule_watches', {
  /** `cron:<job id>`, `service-backup:<service id>`, `volume-backup:<volume id>`, `release-cron:<env id>:<name>`. */
  key: text('key').primaryKey(),
  checkedUntil: timestamp('checked_until', { withTimezone: true }).notNull(),
});

export type LogLineRow = typeof logLines.$inferSelect;
export type LogDrainRow = typeof logDrains.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type NotificationChannelRow = typeof notificationChannels.$inferSelect;
export type NotificationDeliveryRow = typeof notificationDeliveries.$inferSelect;
export type ReleaseWatchRow = typeof releaseWatches.$inferSelect;
