import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
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

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const id = () => uuid('id').primaryKey().default(sql`gen_random_uuid()`);

export const deploymentState = pgEnum('deployment_state', [
  'queued',
  'building',
  'deploying',
  'live',
  'failed',
  'cancelled',
  'superseded',
]);
export const deploymentTrigger = pgEnum('deployment_trigger', ['push', 'tag', 'manual', 'rollback', 'promote', 'config']);
export const serviceType = pgEnum('service_type', ['postgres', 'redis']);
export const serviceState = pgEnum('service_state', ['provisioning', 'ready', 'failed', 'deleting']);
export const certificateState = pgEnum('certificate_state', ['pending', 'issued', 'failed']);
export const backupState = pgEnum('backup_state', ['pending', 'running', 'verifying', 'good', 'failed']);
export const serviceOperationKind = pgEnum('service_operation_kind', ['provision', 'backup', 'restore', 'delete']);
export const operationState = pgEnum('operation_state', ['pending', 'running', 'done', 'failed']);
export const logStream = pgEnum('log_stream', ['stdout', 'stderr', 'system']);

/** An application: one repository, several environments. */
export const apps = pgTable('apps', {
  id: id(),
  name: text('name').notNull().unique(),
  /** `owner/name` on GitHub; webhooks are matched on it. */
  repoFullName: text('repo_full_name'),
  /** Where the worker clones from; never taken from a webhook payload. */
  repoCloneUrl: text('repo_clone_url'),
  defaultBranch: text('default_branch').notNull().default('main'),
  /** Path of the Dockerfile inside the repository, when there is one. */
  dockerfilePath: text('dockerfile_path').notNull().default('Dockerfile'),
  /** Sealed HMAC secret of GitHub webhooks; generated at creation, rotatable. */
  webhookSecretCiphertext: text('webhook_secret_ciphertext'),
  webhookSecretKeyId: text('webhook_secret_key_id'),
  /** Sealed JSON `{ kind: 'token', token } | { kind: 'deploy-key', privateKey }` for private repositories. */
  repoCredentialsCiphertext: text('repo_credentials_ciphertext'),
  repoCredentialsKeyId: text('repo_credentials_key_id'),
  /** Pull requests get a `pr-<number>` environment of their own. */
  previewsEnabled: boolean('previews_enabled').notNull().default(true),
  /** Pull requests from forks are built only when this is on, and never get the app's variables. */
  forkPreviews: boolean('fork_previews').notNull().default(false),
  /** Each preview environment gets a fresh managed Postgres of its own, linked. */
  previewDatabase: boolean('preview_database').notNull().default(false),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** production, staging, previews: each with its trigger, replicas, health check, variables. */
export const environments = pgTable(
  'environments',
  {
    id: id(),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** Branch whose pushes deploy here (null: none). */
    branch: text('branch'),
    /** Glob of tags that deploy here, e.g. `v*` (null: none). */
    tagPattern: text('tag_pattern'),
    replicas: integer('replicas').notNull().default(1),
    healthPath: text('health_path').notNull().default('/health'),
    healthIntervalMs: integer('health_interval_ms').notNull().default(2000),
    healthTimeoutMs: integer('health_timeout_ms').notNull().default(2000),
    healthyThreshold: integer('healthy_threshold').notNull().default(2),
    healthDeadlineMs: integer('health_deadline_ms').notNull().default(120_000),
    /** Bumped on every variable change; a release records the version it snapshotted. */
    configVersion: integer('config_version').notNull().default(0),
    /** The release the reconciler makes Docker run (null: nothing deployed yet). */
    desiredReleaseId: uuid('desired_release_id'),
    /** `ok`, or `crash-looping` while its replicas keep dying; shown in status. */
    health: text('health').notNull().default('ok'),
    /** Replica restarts in the current crash streak, and when the reconciler may try the next one. */
    restartStreak: integer('restart_streak').notNull().default(0),
    nextRestartAt: timestamp('next_restart_at', { withTimezone: true }),
    lastCrashAt: timestamp('last_crash_at', { withTimezone: true }),
    /** Requests in flight to a replaced replica get this long to finish before it is stopped. */
    drainTimeoutMs: integer('drain_timeout_ms').notNull().default(30_000),
    /** Set on preview environments: the pull request they follow. */
    pullRequest: integer('pull_request'),
    /** A preview of a fork's pull request: built only when the app allows it, without the app's variables. */
    fromFork: boolean('from_fork').notNull().default(false),
    /** Plain HTTP is redirected to HTTPS for hostnames that have a valid certificate. */
    httpsRedirect: boolean('https_redirect').notNull().default(true),
    /** Send Strict-Transport-Security on HTTPS responses. */
    hsts: boolean('hsts').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('environments_app_name').on(t.appId, t.name)],
);

/** One variable of one environment; the value is sealed with PIER_SECRET_KEY. */
export const variables = pgTable(
  'variables',
  {
    id: id(),
    environmentId: uuid('environment_id')
      .notNull()
      .references(() => environments.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    valueCiphertext: text('value_ciphertext').notNull(),
    keyId: text('key_id').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('variables_environment_key').on(t.environmentId, t.key)],
);

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
    hostPort: integer('host_port'),
    state: replicaState('state').notNull().default('starting'),
    /** As last reported by the proxy's health polls. */
    healthy: boolean('healthy').notNull().default(true),
    unhealthySince: timestamp('unhealthy_since', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('replicas_environment_state').on(t.environmentId, t.state)],
);

/** Custom domains of an environment (generated hostnames are not stored). */
export const domains = pgTable('domains', {
  id: id(),
  environmentId: uuid('environment_id')
    .notNull()
    .references(() => environments.id, { onDelete: 'cascade' }),
  hostname: text('hostname').notNull().unique(),
  redirectHttps: boolean('redirect_https').notNull().default(true),
  createdAt: createdAt(),
});

export const certificates = pgTable('certificates', {
  id: id(),
  hostname: text('hostname').notNull().unique(),
  state: certificateState('state').notNull().default('pending'),
  certificatePem: text('certificate_pem'),
  privateKeyCiphertext: text('private_key_ciphertext'),
  keyId: text('key_id'),
  notBefore: timestamp('not_before', { withTimezone: true }),
  notAfter: timestamp('not_after', { withTimezone: true }),
  lastError: text('last_error'),
  /** The pending order, resumed after a crash instead of placing a new one. */
  orderUrl: text('order_url'),
  /** When the next order may start: renewal time (two thirds of the lifetime, with jitter) or the end of a backoff. */
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
  /** Failed authorizations, newest last (at most 5 per hour are attempted). */
  failureTimes: timestamp('failure_times', { withTimezone: true }).array().notNull().default(sql`'{}'::timestamptz[]`),
  /** A worker working on this certificate holds it until then. */
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** The ACME account per directory URL; its key is created once and kept sealed. */
export const acmeAccounts = pgTable('acme_accounts', {
  id: id(),
  directoryUrl: text('directory_url').notNull().unique(),
  email: text('email'),
  accountUrl: text('account_url'),
  keyCiphertext: text('key_ciphertext').notNull(),
  keyId: text('key_id').notNull(),
  createdAt: createdAt(),
});

/** HTTP-01 answers the proxy serves at /.well-known/acme-challenge/<token>. */
export const acmeChallenges = pgTable('acme_challenges', {
  token: text('token').primaryKey(),
  hostname: text('hostname').notNull(),
  keyAuthorization: text('key_authorization').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

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

/** Backups of managed services: pg_dump (custom format) or a Redis RDB copy, verified before they count. */
export const serviceBackups = pgTable(
  'service_backups',
  {
    id: id(),
    serviceId: uuid('service_id')
      .notNull()
      .references(() => managedServices.id, { onDelete: 'cascade' }),
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
    /** `{ deleteData }` for delete. */
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
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.environmentId, t.serviceId] }),
    uniqueIndex('service_links_environment_variable').on(t.environmentId, t.variable),
  ],
);

/** API tokens: only the SHA-256 of the token is kept. `appId` null means an admin token. */
export const apiTokens = pgTable('api_tokens', {
  id: id(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  /** First characters of the token, shown in listings so a user can tell tokens apart. */
  displayPrefix: text('display_prefix').notNull(),
  appId: uuid('app_id').references(() => apps.id, { onDelete: 'cascade' }),
  createdAt: createdAt(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/** GitHub deliveries by X-GitHub-Delivery: a redelivery is answered from here. */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  deliveryId: text('delivery_id').primaryKey(),
  event: text('event').notNull(),
  appId: uuid('app_id').references(() => apps.id, { onDelete: 'set null' }),
  statusCode: integer('status_code').notNull(),
  response: jsonb('response').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
});
