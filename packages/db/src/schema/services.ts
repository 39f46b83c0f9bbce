import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { environments } from './apps.ts';
import { createdAt, id, updatedAt } from './columns.ts';

export const serviceType = pgEnum('service_type', ['postgres', 'redis']);
export const serviceState = pgEnum('service_state', ['provisioning', 'ready', 'failed', 'deleting']);
export const backupState = pgEnum('backup_state', ['pending', 'running', 'verifying', 'good', 'failed']);
export const serviceOperationKind = pgEnum('service_operation_kind', ['provision', 'backup', 'restore', 'delete', 'roles']);
export const operationState = pgEnum('operation_state', ['pending', 'running', 'done', 'failed']);

/** Managed Postgres and Redis containers with their sealed credentials. */
export const managedServices = pgTable('managed_services', {
  id: id(),
  name: text('name').notNull().unique(),
  type: serviceType('type').notNull(),
  version: text('version').notNull(),
  state: serviceState('state').notNull().default('provisioning'),
  credentialsCiphertext: text('credentials_ciphertext').notNull(),
  keyId: text('key_id').notNull(),
  volumeName: text('volume_name').notNull(),
  /** Image the container runs (from PIER_IMAGE_POSTGRES / PIER_IMAGE_REDIS at creation). */
  image: text('image').notNull(),
  /** Container id once provisioned. */
  containerId: text('container_id'),
  /** Cron expression (5 fields, UTC) of scheduled backups. */
  backupSchedule: text('backup_schedule').notNull().default('0 3 * * *'),
  /** Good backups kept; older ones are deleted. */
  backupRetention: integer('backup_retention').notNull().default(7),
  lastError: text('last_error'),
  /** A preview environment's own database: removed with the environment. */
  ownerEnvironmentId: uuid('owner_environment_id').references(() => environments.id, { onDelete: 'set null' }),
  readyAt: timestamp('ready_at', { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * Backups of managed services: pg_dump (custom format) or a Redis RDB copy,
 * verified before they count. They outlive a service deleted without its data
 * (`service_id` null, the name and type kept), to be restored into another.
 */
export const serviceBackups = pgTable(
  'service_backups',
  {
    id: id(),
    serviceId: uuid('service_id').references(() => managedServices.id, { onDelete: 'set null' }),
    /** The service's name, type and version when the backup was made: all that is left once it is deleted. */
    serviceName: text('service_name').notNull(),
    serviceType: serviceType('service_type').notNull(),
    serviceVersion: text('service_version').notNull(),
    trigger: text('trigger').notNull(),
    state: backupState('state').notNull().default('pending'),
    /** File name inside the backup directory. */
    fileName: text('file_name'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    sha256: text('sha256'),
    /** What the verification found: tables and row counts (Postgres) or key count (Redis). */
    verification: jsonb('verification'),
    error: text('error'),
    /** The schedule slot of a scheduled backup: one backup per slot, whichever worker takes it. */
    scheduledFor: timestamp('scheduled_for', { withTimezone: true }),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** Deleted through the API: hidden, and its file removed by a worker, which then drops the row. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('service_backups_service').on(t.serviceId, t.createdAt),
    uniqueIndex('service_backups_slot').on(t.serviceId, t.scheduledFor),
  ],
);

/**
 * Durable work on managed services (provision, backup, restore, delete),
 * claimed by workers with a lease so that a crash only delays it.
 */
export const serviceOperations = pgTable(
  'service_operations',
  {
    id: id(),
    serviceId: uuid('service_id')
      .notNull()
      .references(() => managedServices.id, { onDelete: 'cascade' }),
    kind: serviceOperationKind('kind').notNull(),
    state: operationState('state').notNull().default('pending'),
    backupId: uuid('backup_id').references(() => serviceBackups.id, { onDelete: 'set null' }),
    /** `{ deleteData }` for delete. `roles` brings the link roles of a Postgres service in line with `service_link_roles`. */
    options: jsonb('options').notNull().default({}),
    attempts: integer('attempts').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    error: text('error'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('service_operations_pending').on(t.createdAt).where(sql`state in ('pending', 'running')`)],
);

export const serviceLinks = pgTable(
  'service_links',
  {
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    serviceId: uuid('service_id')
      .notNull()
      .references(() => managedServices.id, { onDelete: 'cascade' }),
    /** The variable it injects, fixed when linked: unlinking another service never renames it. */
    variable: text('variable'),
    /** Query parameters added to the injected URL, e.g. `{ sslmode: 'require' }`. */
    urlParams: jsonb('url_params').notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.environmentId, t.serviceId] }),
    uniqueIndex('service_links_environment_variable').on(t.environmentId, t.variable),
  ],
);

/**
 * The Postgres login role of each link (an environment to a managed
 * Postgres), instead of the superuser: its password sealed like the service's
 * credentials. Made by the API with the link, created in the database by the
 * worker (`ready_at`); on unlink it is marked and kept until the replicas
 * started before then are gone, then dropped and forgotten. Links made before
 * these roles have none until the worker makes one (they keep the superuser's URL until then).
 */
export const serviceLinkRoles = pgTable(
  'service_link_roles',
  {
    id: id(),
    serviceId: uuid('service_id')
      .notNull()
      .references(() => managedServices.id, { onDelete: 'cascade' }),
    /** Null once the environment is deleted: the role is dropped then. */
    environmentId: uuid('environment_id').references(() => environments.id, { onDelete: 'set null' }),
    /** `app_<12 hex of the id>`. */
    name: text('name').notNull().unique(),
    passwordCiphertext: text('password_ciphertext').notNull(),
    keyId: text('key_id').notNull(),
    createdAt: createdAt(),
    /** When the worker created it in the service's database. */
    readyAt: timestamp('ready_at', { withTimezone: true }),
    /** When the link was removed; dropped once no replica started before this remains. */
    unlinkedAt: timestamp('unlinked_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('service_link_roles_active').on(t.serviceId, t.environmentId).where(sql`unlinked_at is null`),
    index('service_link_roles_environment').on(t.environmentId),
  ],
);

/**
 * The installation's own certificate authority: it signs the TLS certificate
 * of every managed Postgres, and apps verify their database against it. One
 * row (`name = 'services'`); the key is sealed with PIER_SECRET_KEY.
 */
export const certificateAuthorities = pgTable('certificate_authorities', {
  name: text('name').primaryKey(),
  certificatePem: text('certificate_pem').notNull(),
  keyCiphertext: text('key_ciphertext').notNull(),
  keyId: text('key_id').notNull(),
  createdAt: createdAt(),
});
