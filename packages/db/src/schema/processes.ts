import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { apps, environments } from './apps.ts';
import { createdAt, id, updatedAt } from './columns.ts';
import { logStream, releases } from './deployments.ts';
import { backupState, operationState } from './services.ts';

/**
 * Per environment and process type (`web`, `worker`, …): how many replicas
 * (web's count stays `environments.replicas`), the limits of each, and the
 * type's crash streak. The types themselves are the live release's
 * (`releases.processes`); a row may outlive its type, and is used again when
 * a release brings the type back.
 */
export const environmentProcesses = pgTable(
  'environment_processes',
  {
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    /** Null: the default (1). Ignored for `web`, whose count is `environments.replicas`. */
    replicas: integer('replicas'),
    /** Null: the release's `resources`, else 512 MiB and 1 CPU. */
    memoryMb: integer('memory_mb'),
    cpus: real('cpus'),
    /** Restarts in the current crash streak of this type (web's is on the environment). */
    restartStreak: integer('restart_streak').notNull().default(0),
    nextRestartAt: timestamp('next_restart_at', { withTimezone: true }),
    lastCrashAt: timestamp('last_crash_at', { withTimezone: true }),
    health: text('health').notNull().default('ok'),
    /** The last time a replica of this type ended without being asked: `{ at, exitCode, oomKilled, memoryMb, reason }`. */
    lastExit: jsonb('last_exit'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.type] })],
);

/** Cron jobs declared through the API; those of `pier.json` come with the live release (`releases.cron`). */
export const cronJobs = pgTable(
  'cron_jobs',
  {
    id: id(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    schedule: text('schedule').notNull(),
    /** A string (run by `/bin/sh -c`) or an argument list, as JSON. */
    command: jsonb('command').notNull(),
    timeoutSeconds: integer('timeout_seconds'),
    /** IANA time zone of the schedule (null: UTC). */
    timeZone: text('time_zone'),
    /** `forbid` (default): a slot is skipped while the last run still runs; `allow`: runs may overlap. */
    concurrency: text('concurrency').notNull().default('forbid'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('cron_jobs_environment_name').on(t.environmentId, t.name)],
);

/**
 * One-off containers of a release: a cron run (`kind = 'cron'`, one per job
 * and slot) or a command started through the API (`kind = 'run'`). A worker
 * claims a queued one, runs it, and keeps its output in `run_log_lines`.
 */
export const runs = pgTable(
  'runs',
  {
    id: id(),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    releaseId: uuid('release_id').references(() => releases.id, { onDelete: 'set null' }),
    kind: text('kind').notNull(),
    /** The cron job's name, for a cron run. */
    cronName: text('cron_name'),
    /** The schedule slot of a cron run (null for one run by hand). */
    slot: timestamp('slot', { withTimezone: true }),
    /** A string (run by `/bin/sh -c`) or an argument list, as JSON. */
    command: jsonb('command').notNull(),
    timeoutSeconds: integer('timeout_seconds').notNull(),
    memoryMb: integer('memory_mb'),
    cpus: real('cpus'),
    /** `queued`, `running`, `succeeded`, `failed`, `skipped`, `cancelled`. */
    state: text('state').notNull().default('queued'),
    exitCode: integer('exit_code'),
    /** Why it failed, was skipped or cancelled, in words a user can act on. */
    reason: text('reason'),
    /** Who asked: a token's name, or `cron`. */
    startedBy: text('started_by').notNull(),
    containerId: text('container_id'),
    /** The worker running it holds it until then, renewing. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lockedBy: text('locked_by'),
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('runs_environment_created').on(t.environmentId, t.createdAt),
    index('runs_cron').on(t.environmentId, t.cronName, t.createdAt),
    uniqueIndex('runs_cron_slot').on(t.environmentId, t.cronName, t.slot),
    index('runs_pending').on(t.createdAt).where(sql`state in ('queued', 'running')`),
  ],
);

/** A run's output, one row per line, masked before it is written. */
export const runLogLines = pgTable(
  'run_log_lines',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    stream: logStream('stream').notNull().default('stdout'),
    line: text('line').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('run_log_lines_run').on(t.runId, t.id)],
);

/** A named Docker volume of an environment, mounted into the replicas of the chosen process types. */
export const volumes = pgTable(
  'volumes',
  {
    id: id(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    mountPath: text('mount_path').notNull(),
    processTypes: text('process_types').array().notNull().default(sql`'{web}'::text[]`),
    /**
     * False (default): single-writer. A type that mounts it runs one replica, and a rollout stops the old
     * replica before it starts the new one (the proxy holds requests meanwhile). True: replicas share it.
     */
    shared: boolean('shared').notNull().default(false),
    /** The Docker volume's name. */
    dockerName: text('docker_name').notNull().unique(),
    backupSchedule: text('backup_schedule').notNull().default('0 4 * * *'),
    backupRetention: integer('backup_retention').notNull().default(7),
    /** Set by DELETE: detached from the environment; a worker removes it (and its data when asked), then the row. */
    deletingAt: timestamp('deleting_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('volumes_environment_name').on(t.environmentId, t.name).where(sql`deleting_at is null`)],
);

/** A tar of a volume, with its checksum and what reading it back found. */
export const volumeBackups = pgTable(
  'volume_backups',
  {
    id: id(),
    volumeId: uuid('volume_id').references(() => volumes.id, { onDelete: 'set null' }),
    environmentId: uuid('environment_id').references(() => environments.id, { onDelete: 'set null' }),
    volumeName: text('volume_name').notNull(),
    trigger: text('trigger').notNull(),
    state: backupState('state').notNull().default('pending'),
    fileName: text('file_name'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    sha256: text('sha256'),
    /** What reading it back found: files and bytes. */
    verification: jsonb('verification'),
    error: text('error'),
    scheduledFor: timestamp('scheduled_for', { withTimezone: true }),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('volume_backups_volume').on(t.volumeId, t.createdAt),
    uniqueIndex('volume_backups_slot').on(t.volumeId, t.scheduledFor),
  ],
);

/** Durable work on volumes (backup, restore, delete), claimed by workers with a lease. */
export const volumeOperations = pgTable(
  'volume_operations',
  {
    id: id(),
    volumeId: uuid('volume_id')
      .notNull()
      .references(() => volumes.id, { onDelete: 'cascade' }),
    /** `backup`, `restore` or `delete`. */
    kind: text('kind').notNull(),
    state: operationState('state').notNull().default('pending'),
    backupId: uuid('backup_id').references(() => volumeBackups.id, { onDelete: 'set null' }),
    /** `{ deleteData }` for delete; `{ intoVolumeId }` for a restore into another volume. */
    options: jsonb('options').notNull().default({}),
    attempts: integer('attempts').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    error: text('error'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('volume_operations_pending').on(t.createdAt).where(sql`state in ('pending', 'running')`)],
);
