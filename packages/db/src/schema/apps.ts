import { bigint, boolean, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './columns.ts';

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
  /** Path of the app's `pier.json` inside the repository, read at each built commit when it exists. */
  configPath: text('config_path').notNull().default('pier.json'),
  /** Sealed JSON `{ server, username, password }`: pulls prebuilt images (`POST …/deployments { image }`). */
  registryCredentialsCiphertext: text('registry_credentials_ciphertext'),
  registryCredentialsKeyId: text('registry_credentials_key_id'),
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
  /**
   * `X-GitHub-Hook-Installation-Target-ID` of the app's last verified delivery
   * (the repository's id for a repository hook): a webhook body over the
   * unsigned limit is read only when it names a known target, whose apps'
   * secrets verify it as it streams. Cleared when the repository changes.
   */
  githubHookTargetId: bigint('github_hook_target_id', { mode: 'number' }),
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
    /** A path (`/…`) probed over HTTP, `tcp`, or null: automatic (`/health` when it answers 2xx, else `/` below 500). */
    healthPath: text('health_path'),
    /** Port the app listens on (null: pier.json, else the image's single EXPOSE, else 8080). */
    port: integer('port'),
    /** Pushes wait for GitHub's checks of their commit before building (null: on for `staging` when the app has a repository). */
    waitForChecks: boolean('wait_for_checks'),
    /** Check names that must succeed (null: every check suite of the commit). */
    requiredChecks: text('required_checks').array(),
    checksTimeoutMs: integer('checks_timeout_ms').notNull().default(1_800_000),
    healthIntervalMs: integer('health_interval_ms').notNull().default(2000),
    healthTimeoutMs: integer('health_timeout_ms').notNull().default(2000),
    healthyThreshold: integer('healthy_threshold').notNull().default(2),
    healthDeadlineMs: integer('health_deadline_ms').notNull().default(120_000),
    /** Bumped on every variable change; a release records the version it snapshotted. */
    configVersion: integer('config_version').notNull().default(0),
    /**
     * The release the environment should run, written first by every deploy,
     * rollback and promotion (null: nothing deployed yet). The reconciler
     * rolls out to it; a rollout that fails sets it back to the live release.
     */
    desiredReleaseId: uuid('desired_release_id'),
    /** The release whose replicas serve traffic, written by the reconciler when a rollout switches the route. */
    liveReleaseId: uuid('live_release_id'),
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
    /**
     * `<app>-<env>` (its network is `pier-<slug>`) and `<app>` or `<app>-<env>`
     * (the first label of its hostname): unique across apps, so two apps never
     * share a network or a hostname. Null only on environments that clashed
     * before these were kept (migration 0007).
     */
    slug: text('slug'),
    hostnameLabel: text('hostname_label'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('environments_app_name').on(t.appId, t.name),
    uniqueIndex('environments_slug').on(t.slug),
    uniqueIndex('environments_hostname_label').on(t.hostnameLabel),
  ],
);

/**
 * The newest pull_request delivery applied per app and pull request. GitHub
 * does not promise order: a delivery older than this one (by the pull
 * request's `updated_at`) is ignored, so a late `synchronize` never brings
 * back a closed preview nor replaces a newer head commit.
 */
export const pullRequestEvents = pgTable(
  'pull_request_events',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    closed: boolean('closed').notNull(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.number] })],
);

/**
 * The newest deploying delivery applied per app and ref: a push (key
 * `refs/heads/<b>` or `refs/tags/<t>`, time `repository.pushed_at`, the merge
 * of a pull request counts as a push to its base at `merged_at`) or a
 * published release (key `release:<tag>`, time `published_at`). A signed
 * delivery replayed under a new delivery id is not newer and is refused, so
 * it can never move an environment back to an older commit; a real
 * force-push back to an older commit is a newer push and still deploys.
 */
export const refEvents = pgTable(
  'ref_events',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    /** What was applied at `at`: the commit, or the release id. */
    identity: text('identity').notNull(),
  },
  (t) => [primaryKey({ columns: [t.appId, t.key] })],
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
