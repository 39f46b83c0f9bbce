import { DEPLOYMENT_STATES } from '@pier/core';
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { apps, environments } from './apps.ts';
import { createdAt, id, updatedAt } from './columns.ts';

export const deploymentState = pgEnum('deployment_state', DEPLOYMENT_STATES);
export const deploymentTrigger = pgEnum('deployment_trigger', ['push', 'tag', 'manual', 'rollback', 'promote', 'config']);
export const logStream = pgEnum('log_stream', ['stdout', 'stderr', 'system']);

/** Immutable: an image plus the configuration it runs with. Rollback and promotion reuse one. */
export const releases = pgTable(
  'releases',
  {
    id: id(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    imageId: text('image_id').notNull(),
    imageRef: text('image_ref').notNull(),
    /** Sealed JSON of the variables at `configVersion`. */
    configCiphertext: text('config_ciphertext').notNull(),
    keyId: text('key_id').notNull(),
    configVersion: integer('config_version').notNull(),
    replicas: integer('replicas').notNull(),
    health: jsonb('health').notNull(),
    /** Networks of the services linked when the release was made; its replicas join them. */
    networks: text('networks').array().notNull().default(sql`'{}'::text[]`),
    /** Port the app listens on inside its containers (null on releases made before it was kept: 8080). */
    port: integer('port'),
    /** Runs once in a one-off container before any replica of the release starts (null: none). */
    releaseCommand: text('release_command'),
    /** The settings the release runs with and where each came from (`api`, `pier.json`, `image`, `default`). */
    settings: jsonb('settings').notNull().default({}),
    /** The verified backup of the linked Postgres taken right before its release command: `rollback { restoreData }` restores it. */
    backupId: uuid('backup_id'),
    /** Process type → its command (null: the image's own command), from the Procfile or `pier.json`; `web` gets the routes. */
    processes: jsonb('processes').notNull().default({ web: null }),
    /** The cron jobs of the repository's `pier.json` for this environment. */
    cron: jsonb('cron').notNull().default([]),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('releases_environment_version').on(t.environmentId, t.version)],
);

export const deployments = pgTable(
  'deployments',
  {
    id: id(),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    state: deploymentState('state').notNull().default('queued'),
    trigger: deploymentTrigger('trigger').notNull(),
    gitRef: text('git_ref'),
    commitSha: text('commit_sha'),
    imageId: text('image_id'),
    /** A prebuilt image to deploy instead of building (`POST …/deployments { image }`). */
    image: text('image'),
    /** The repository's `pier.json` as read (validated) at the built commit; null when it has none. */
    repoConfig: jsonb('repo_config'),
    /** Until when a deployment waiting for checks waits before it is skipped. */
    checksDeadlineAt: timestamp('checks_deadline_at', { withTimezone: true }),
    releaseId: uuid('release_id').references(() => releases.id, { onDelete: 'set null' }),
    /** Why it failed or was cancelled, in words a user can act on. */
    reason: text('reason'),
    /** Set by POST /deployments/:id/cancel while a build runs; the worker stops the build. */
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    /** GitHub delivery that created it, if any. */
    deliveryId: text('delivery_id'),
    queuedAt: timestamp('queued_at', { withTimezone: true }).notNull().defaultNow(),
    buildStartedAt: timestamp('build_started_at', { withTimezone: true }),
    buildFinishedAt: timestamp('build_finished_at', { withTimezone: true }),
    deployStartedAt: timestamp('deploy_started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('deployments_environment_queued').on(t.environmentId, t.queuedAt),
    index('deployments_active').on(t.state).where(sql`state in ('queued', 'building', 'deploying')`),
  ],
);

/**
 * Transactional outbox: written in the same transaction as the deployment it
 * names; the relay moves it into BullMQ (jobId = deployment id) and marks it.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    job: text('job').notNull(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }),
  },
  (t) => [index('outbox_pending').on(t.id).where(sql`enqueued_at is null`)],
);

export const deploymentEvents = pgTable(
  'deployment_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id, { onDelete: 'cascade' }),
    fromState: deploymentState('from_state'),
    toState: deploymentState('to_state').notNull(),
    message: text('message'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('deployment_events_deployment').on(t.deploymentId, t.id)],
);

/** Build and deploy output, one row per line, masked before it is written. */
export const deploymentLogLines = pgTable(
  'deployment_log_lines',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id, { onDelete: 'cascade' }),
    stream: logStream('stream').notNull().default('stdout'),
    line: text('line').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('deployment_log_lines_deployment').on(t.deploymentId, t.id)],
);

export const replicaState = pgEnum('replica_state', ['starting', 'serving', 'draining', 'stopped']);

/**
 * One running container of a release. `serving` replicas are the proxy's
 * upstreams; the switch from one release to the next is one transaction.
 */
export const replicas = pgTable(
  'replicas',
  {
    id: id(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id, { onDelete: 'cascade' }),
    containerId: text('container_id'),
    containerName: text('container_name').notNull().unique(),
    /** `web` (routed, health-gated) or another process type of its release. */
    processType: text('process_type').notNull().default('web'),
    /** Its memory limit and CPUs when it was started: what the capacity guard counts as reserved. */
    memoryMb: integer('memory_mb'),
    cpus: real('cpus'),
    /** Where the replica answers, as the runtime reported it: the proxy and the health gate use it as it is. */
    host: text('host'),
    port: integer('port'),
    state: replicaState('state').notNull().default('starting'),
    /** As last reported by the proxy's health polls. */
    healthy: boolean('healthy').notNull().default(true),
    unhealthySince: timestamp('unhealthy_since', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('replicas_environment_state').on(t.environmentId, t.state)],
);

export const rolloutState = pgEnum('rollout_state', ['active', 'succeeded', 'failed', 'superseded']);

/**
 * One change of an environment's release, from the live one to the desired
 * one. A deploy, rollback or promotion writes it with the desired release in
 * one transaction; the reconciler carries it out (start, gate, switch, drain)
 * and ends it. At most one is active per environment.
 */
export const rollouts = pgTable(
  'rollouts',
  {
    id: id(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    /** The deployment it carries out; null once that is deleted. */
    deploymentId: uuid('deployment_id').references(() => deployments.id, { onDelete: 'set null' }),
    fromReleaseId: uuid('from_release_id').references(() => releases.id, { onDelete: 'set null' }),
    toReleaseId: uuid('to_release_id')
      .notNull()
      .references(() => releases.id, { onDelete: 'cascade' }),
    state: rolloutState('state').notNull().default('active'),
    /** Why it failed or was superseded. */
    reason: text('reason'),
    createdAt: createdAt(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('rollouts_active').on(t.environmentId).where(sql`state = 'active'`),
    index('rollouts_deployment').on(t.deploymentId),
  ],
);

/**
 * Named leases: one holder at a time, until `expiresAt` unless renewed. The
 * reconciler's lease makes one worker of many the only one that starts and
 * stops replicas.
 */
export const leases = pgTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  acquiredAt: timestamp('acquired_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
