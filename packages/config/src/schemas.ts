import { DEFAULT_APP_QUOTAS, DEFAULT_NETWORK_POOL, networkPoolProblem, networkPoolRangeProblem } from '@pier/core';
import { z } from 'zod';
import { capacitySettings } from './capacity-config.ts';
import {
  bearerSecret,
  booleanFlag,
  durationMs,
  hostname,
  imageName,
  ipList,
  listenHost,
  logFormat,
  logLevel,
  port,
  positiveInt,
  postgresUrl,
  previousSecretKeys,
  redisUrl,
  secretKey,
} from './fields.ts';

/**
 * The proxy's own key: certificate private keys reach it sealed under this
 * (the worker seals them), so the internet-facing process never holds
 * PIER_SECRET_KEY, which opens every variable and credential.
 */
export const proxyKey = {
  /** 32 random bytes, base64, other than PIER_SECRET_KEY; needed by the worker (to seal) and the proxy (to open). */
  PIER_PROXY_KEY: secretKey,
  /** Older proxy keys, comma-separated, still accepted for reading while the worker re-seals under the new one. */
  PIER_PROXY_KEYS_PREVIOUS: previousSecretKeys,
};

/** Settings every Pier process needs. */
export const common = {
  /** Pier's own state: apps, deployments, encrypted variables. The truth. */
  DATABASE_URL: postgresUrl,
  /** BullMQ queues and short-lived coordination; losing it loses nothing (Postgres re-enqueues). */
  REDIS_URL: redisUrl,
  /** Encrypts variables, credentials and private keys at rest (AES-256-GCM). */
  PIER_SECRET_KEY: secretKey,
  /** Older secret keys, comma-separated, kept readable while values are re-sealed with the new one. */
  PIER_SECRET_KEYS_PREVIOUS: previousSecretKeys,
  /** Apps are served at <app>.<base domain> and <app>-<env>.<base domain>. */
  PIER_BASE_DOMAIN: hostname,
  /**
   * The front door of the control plane, e.g. pier.example.com: the proxy
   * routes it to the api (which stays on loopback) with a certificate of its
   * own, so GitHub's webhooks, the CLI and browsers reach the API over HTTPS.
   * No app, environment or custom domain may take it.
   */
  PIER_CONTROL_HOSTNAME: hostname.optional(),
  /** pino level. */
  PIER_LOG_LEVEL: logLevel,
  /** `auto` prints pretty lines on a terminal and JSON otherwise. */
  PIER_LOG_FORMAT: logFormat,
};

const dockerSocket = z.string().startsWith('/', 'must be an absolute path').default('/var/run/docker.sock');

export const apiConfigSchema = z.object({
  ...common,
  /** Interface the REST API listens on; loopback by default, publish it through the proxy or a tunnel. */
  PIER_API_HOST: listenHost.default('127.0.0.1'),
  /** Port of the REST API and the GitHub webhook endpoint. */
  PIER_API_PORT: port(4000),
  /** The `pier` CLI bundle served at GET /cli; default apps/cli/dist/pier.cjs of this checkout (`npm run build:cli`). */
  PIER_CLI_BUNDLE: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** The built dashboard served at `/`; default apps/dashboard/dist of this checkout (`npm run build:dashboard`). */
  PIER_DASHBOARD_DIR: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** How long a dashboard session (an API token exchanged for a cookie) lasts, in hours. */
  PIER_SESSION_HOURS: positiveInt(12).refine((h) => h <= 24 * 30, 'must be at most 720 (30 days)'),
  /** Bootstrap admin token: the first credential, used to create scoped API tokens. */
  PIER_ADMIN_TOKEN: bearerSecret,
  /** Image of managed Postgres services; `POST /services` with a version uses that tag of this image. */
  PIER_IMAGE_POSTGRES: imageName('postgres:15-bookworm'),
  /** Image of managed Redis services. */
  PIER_IMAGE_REDIS: imageName('redis:7-bookworm'),
  /**
   * This host's public addresses, comma-separated, for the custom domains' DNS
   * check when they are not on an interface (behind NAT, as on many clouds).
   */
  PIER_PUBLIC_IPS: ipList,
  /**
   * Webhook deliveries a minute from one source address (in bursts of as many);
   * more are answered 429 before their body is read. GitHub sends from a few addresses.
   */
  PIER_WEBHOOK_RATE_LIMIT: positiveInt(300),
  /** Environments per app besides previews (production and staging count): at least 2. */
  PIER_QUOTA_ENVIRONMENTS: positiveInt(DEFAULT_APP_QUOTAS.environments).refine(
    (n) => n >= 2,
    'must be at least 2 (production and staging)',
  ),
  /** Previews open at once per app; a pull request past it gets no preview, and its delivery says why. */
  PIER_QUOTA_PREVIEWS: positiveInt(DEFAULT_APP_QUOTAS.previews),
  /** Of those, previews of forks (code anyone can open a pull request with), when the app allows them at all. */
  PIER_QUOTA_FORK_PREVIEWS: positiveInt(DEFAULT_APP_QUOTAS.forkPreviews),
  /** Replicas of all of an app's environments together, previews included: bounds the memory one app takes. */
  PIER_QUOTA_REPLICAS: positiveInt(DEFAULT_APP_QUOTAS.replicas),
  /** Custom domains per app (each is a certificate order). */
  PIER_QUOTA_DOMAINS: positiveInt(DEFAULT_APP_QUOTAS.domains),
  /** A scale-up the host's memory cannot hold is refused with the figures (see capacity-config.ts). */
  ...capacitySettings,
});

/** Certificates (the worker orders them; the proxy serves them). */
const acme = {
  /** RFC 8555 directory of the CA: Let's Encrypt production by default; its staging directory, or any ACME CA. */
  PIER_ACME_DIRECTORY_URL: z
    .string()
    .refine((value) => URL.canParse(value) && new URL(value).protocol === 'https:', 'must be an https:// URL')
    .default('https://acme-v02.api.letsencrypt.org/directory'),
  /**
   * Contact of the ACME account (the CA's expiry notices). When set, the
   * generated <app>.<base domain> hostnames get certificates too, not only custom domains.
   */
  PIER_ACME_EMAIL: z.email('must be an e-mail address').optional(),
  /** PEM file of extra CA roots trusted for the HTTPS connection to the ACME directory only (a private or test CA). */
  PIER_ACME_CA_BUNDLE: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** How often the worker looks for certificates to order or renew (it also wakes when a domain is added). */
  PIER_ACME_CHECK_INTERVAL_MS: durationMs(60_000).refine((ms) => ms >= 100, 'must be at least 100'),
  /** A worker ordering a certificate holds it this long (renewed while it works); a dead worker's order is taken over after it. */
  PIER_ACME_LEASE_MS: durationMs(120_000).refine((ms) => ms >= 1000, 'must be at least 1000 (one second)'),
  /** First delay after a failed authorization; it doubles per failure, and at most 5 failures per hostname per hour are risked. */
  PIER_ACME_RETRY_MS: durationMs(60_000).refine((ms) => ms >= 100, 'must be at least 100'),
};

/** A registry or index URL (it may carry credentials: it never reaches a final image, a log or an error). */
const registryUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http:// or https:// URL')
  .optional();

/**
 * How builds reach package registries from behind a TLS-inspecting proxy or
 * through a mirror. Generated builds use them in the stage that installs
 * dependencies only, so none of them is in the final image.
 */
const buildNetwork = {
  /** PEM file of the CAs generated builds trust for npm, Yarn, pnpm, corepack and pip (a TLS-inspecting proxy's); pip uses it instead of its own, so give a full bundle. */
  PIER_BUILD_CA_BUNDLE: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** npm registry (a mirror) of generated Node builds: npm, Yarn, pnpm, and corepack's download of Yarn and pnpm. */
  PIER_NPM_REGISTRY: registryUrl,
  /**
   * corepack's COREPACK_INTEGRITY_KEYS in generated Node builds: the npm keys Yarn and pnpm downloads are checked
   * against. `0` turns the check off, for a registry mirror that serves packages without npm's signatures.
   */
  PIER_COREPACK_INTEGRITY_KEYS: z.string().optional(),
  /** Package index (a mirror, PEP 503 simple API) of generated Python builds; a plain-http one is trusted as given. */
  PIER_PIP_INDEX_URL: registryUrl,
  /** Proxy of every build's RUN steps for http:// (Docker's predefined build arg: not recorded in the image). */
  HTTP_PROXY: z.string().optional(),
  /** Proxy of every build's RUN steps for https://. */
  HTTPS_PROXY: z.string().optional(),
  /** Hosts the builds reach without the proxy. */
  NO_PROXY: z.string().optional(),
};

export const workerConfigSchema = z
  .object({
    ...common,
    ...proxyKey,
    /** Base image of generated Node.js Dockerfiles. */
    PIER_IMAGE_NODE: imageName('node:20-bookworm-slim'),
    /** Base image of generated Python Dockerfiles. */
    PIER_IMAGE_PYTHON: imageName('python:3.11-slim-bookworm'),
    /** Image of managed Postgres services. */
    PIER_IMAGE_POSTGRES: imageName('postgres:15-bookworm'),
    /** Image of managed Redis services. */
    PIER_IMAGE_REDIS: imageName('redis:7-bookworm'),
    /** Base image for apps that have only a Procfile (no package.json or requirements.txt). */
    PIER_IMAGE_PROCFILE: imageName('debian:bookworm-slim'),
    /** Image of the helper containers that back up and restore app volumes (tar and find); never pulled. */
    PIER_IMAGE_VOLUME_TOOLS: imageName('debian:bookworm-slim'),
    /** Docker Engine socket. */
    PIER_DOCKER_SOCKET: dockerSocket,
    /** Checkouts are made (and removed) here during builds. */
    PIER_WORK_DIR: z.string().startsWith('/', 'must be an absolute path').default('/var/tmp/pier'),
    /** Backups of managed services (pg_dump files, Redis RDB copies) are kept here, one directory per service. */
    PIER_BACKUP_DIR: z.string().startsWith('/', 'must be an absolute path').default('/var/lib/pier/backups'),
    /** Builds running at once on this worker; builds are CPU- and memory-heavy. */
    PIER_BUILD_CONCURRENCY: positiveInt(1),
    /** A build is stopped and fails after this long. */
    PIER_BUILD_TIMEOUT_MS: durationMs(15 * 60_000),
    /** PIER_BUILD_MEMORY_MB (the memory limit of build containers) and the capacity guard's settings. */
    ...capacitySettings,
    /** CPUs one build's RUN steps may use at once (e.g. 1.5), so a build cannot take every core from running apps. */
    PIER_BUILD_CPUS: z.coerce
      .number({ error: 'must be a number of CPUs' })
      .min(0.01, 'must be at least 0.01')
      .max(1024, 'must be at most 1024')
      .default(2),
    /** Processes of all builds on this host together (a fork bomb fails its build, not the host); needs Docker's cgroupfs driver. */
    PIER_BUILD_PIDS: positiveInt(4096),
    ...buildNetwork,
    /**
     * Install and check, at start, the iptables rules that keep containers on
     * Pier's networks away from this host's services and 169.254.0.0/16 (cloud
     * metadata). Off only where the host's own firewall already does that.
     */
    PIER_HOST_FIREWALL: booleanFlag(true),
    /** Largest checked-out repository accepted as a build context. */
    PIER_MAX_CONTEXT_MB: positiveInt(500),
    /** Builds are refused while Docker's disk has less free space than this, and stopped when it falls below it. */
    PIER_MIN_FREE_DISK_MB: positiveInt(2048),
    /** Output stored per build; past it one line says it was truncated, so endless output costs neither Postgres nor the worker more. */
    PIER_DEPLOYMENT_LOG_MAX_MB: positiveInt(5),
    /** Output of deployments that ended (failed, cancelled, superseded) this many days ago is deleted; the deployments stay. */
    PIER_DEPLOYMENT_LOG_RETENTION_DAYS: positiveInt(30),
    /** Apps' log lines (replicas, release commands, runs) older than this many days are deleted (per environment: PUT …/logs/retention). */
    PIER_LOG_RETENTION_DAYS: positiveInt(7),
    /** Above this many MB of log lines, an environment's oldest lines are deleted: the log store's bound on a small disk. */
    PIER_LOG_RETENTION_MB: positiveInt(100),
    /** Records of webhook deliveries (kept so a redelivery changes nothing) are deleted after this many days. */
    PIER_WEBHOOK_DELIVERY_RETENTION_DAYS: positiveInt(14),
    /** Newest images kept per app; older ones that nothing runs are removed after each build. */
    PIER_KEEP_IMAGES: positiveInt(5),
    /**
     * How long a running build's queue lock lasts unless the worker renews it (it does, at half this).
     * When a worker dies mid-build, another takes the build over only after the lock has expired.
     */
    PIER_BUILD_LOCK_MS: durationMs(30_000).refine((ms) => ms >= 1000, 'must be at least 1000 (one second)'),
    /** How often a worker looks for builds whose lock expired (their worker died) and queues them again. */
    PIER_BUILD_STALLED_CHECK_MS: durationMs(15_000).refine((ms) => ms >= 1000, 'must be at least 1000 (one second)'),
    /**
     * The reconciler's lease: one worker of several runs the replicas, renewing it every pass (at most 5 s
     * apart); when that worker dies, another takes over once it runs out. Shorter: a faster takeover, at the
     * risk of a slow pass losing it.
     */
    PIER_RECONCILER_LEASE_MS: durationMs(15_000).refine((ms) => ms >= 3000, 'must be at least 3000 (three seconds)'),
    /**
     * How often the watch after each rollout judges a new release's errors and restarts against the one
     * before it (automatic rollback on an error spike). Shorter: a broken release is rolled back sooner.
     */
    PIER_ROLLBACK_WATCH_INTERVAL_MS: durationMs(5000).refine((ms) => ms >= 500, 'must be at least 500'),
    /**
     * How often the worker samples each replica's CPU, memory and network (Docker's statistics) and the
     * host's CPU, memory, load and disks into the per-minute metrics. Shorter than a minute adds samples
     * to the same bucket; longer leaves minutes without replica figures.
     */
    PIER_METRICS_INTERVAL_MS: durationMs(60_000).refine((ms) => ms >= 500, 'must be at least 500'),
    /**
     * Notifications: after one message about an app's environment and an event kind, further events of
     * the same app, environment and kind within this many seconds are held back and sent as one summary
     * when it ends, so a crash loop sends one message and a summary, not one per restart.
     */
    PIER_NOTIFY_THROTTLE_SECONDS: positiveInt(900),
    /** A notification that could not be delivered (retried with backoff) is dead after this many seconds. */
    PIER_NOTIFY_GIVE_UP_SECONDS: positiveInt(86_400),
    /** A `host.disk` event fires when `/` or Docker's data root is this full (per cent used), and `host.recovered` once below. */
    PIER_ALERT_DISK_PERCENT: positiveInt(90).refine((n) => n <= 100, 'must be at most 100'),
    /** A `host.memory` event fires when the memory available stays below this share (per cent) for two samples a minute apart. */
    PIER_ALERT_MEMORY_AVAILABLE_PERCENT: positiveInt(10).refine((n) => n < 100, 'must be below 100'),
    /**
     * A backup or cron slot that passed this long ago with no backup or run recorded is reported missed
     * (the dead man's switch). Longer than the schedulers' passes, so a slot about to be taken is not.
     */
    PIER_MISSED_SLOT_GRACE_MS: durationMs(120_000).refine((ms) => ms >= 30_000, 'must be at least 30000 (30 seconds)'),
    /** Accept file:// repository URLs (local mirrors, tests). Off: they let an app read any repository on the host. */
    PIER_ALLOW_FILE_REPOS: booleanFlag(false),
    /**
     * A known_hosts file of the git servers trusted over SSH besides GitHub, whose published keys ship with Pier:
     * an ssh clone URL to a host whose key is in neither is refused, never trusted on first use.
     */
    PIER_GIT_KNOWN_HOSTS: z
      .string()
      .regex(/^\/[A-Za-z0-9/._-]+$/, 'must be an absolute path of letters, digits and / . _ -')
      .optional(),
    /** Name of this installation, on every container it runs: installations sharing a Docker Engine leave each other's containers alone. */
    PIER_INSTANCE: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be 1-63 of a-z 0-9 _ . -')
      .default('pier'),
    /** BullMQ key prefix in Redis; several Pier installations can share one Redis with different prefixes. */
    PIER_QUEUE_PREFIX: z
      .string()
      .regex(/^[a-z0-9:_-]{1,64}$/, 'must be 1-64 of a-z 0-9 : _ -')
      .default('pier'),
    /**
     * Private IPv4 range the networks of environments and managed services get
     * their subnets from (Docker's own pools hold only about 30 networks). Keep
     * it clear of the host's other networks (a VPC, a VPN).
     */
    PIER_NETWORK_POOL: z
      .string()
      .superRefine((value, ctx) => {
        const problem = networkPoolRangeProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(DEFAULT_NETWORK_POOL.cidr),
    /** Prefix length of each of those subnets: 24 gives 254 addresses per network, 256 networks in a /16. */
    PIER_NETWORK_SUBNET_SIZE: z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(8, 'must be at least 8')
      .max(28, 'must be at most 28 (16 addresses)')
      .default(DEFAULT_NETWORK_POOL.size),
    ...acme,
  })
  .superRefine((config, ctx) => {
    if (config.PIER_PROXY_KEY.equals(config.PIER_SECRET_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['PIER_PROXY_KEY'], message: 'must differ from PIER_SECRET_KEY' });
    }
  })
  .superRefine((config, ctx) => {
    // The pool and the size against each other; each alone is checked (and reported) by its field.
    const size = Number(config.PIER_NETWORK_SUBNET_SIZE);
    if (networkPoolRangeProblem(String(config.PIER_NETWORK_POOL)) || !Number.isInteger(size) || size < 8 || size > 28) return;
    const problem = networkPoolProblem({ cidr: config.PIER_NETWORK_POOL, size: config.PIER_NETWORK_SUBNET_SIZE });
    if (!problem) return;
    const [key, message] = problem.split(/: (.*)/s);
    ctx.addIssue({ code: 'custom', path: [key as string], message: message as string });
  });

export type ApiConfig = z.output<typeof apiConfigSchema>;
export type WorkerConfig = z.output<typeof workerConfigSchema>;

export const migrateConfigSchema = z.object({
  DATABASE_URL: common.DATABASE_URL,
  /** The proxy's own role: after the migrations it is granted exactly what the proxy needs. */
  PIER_PROXY_DATABASE_URL: postgresUrl.optional(),
  PIER_LOG_LEVEL: common.PIER_LOG_LEVEL,
  PIER_LOG_FORMAT: common.PIER_LOG_FORMAT,
});
export type MigrateConfig = z.output<typeof migrateConfigSchema>;

/** `npm run secrets -- status`: counts sealed values per key; needs the keys only to tell which is which. */
export const secretsConfigSchema = z.object({
  DATABASE_URL: common.DATABASE_URL,
  PIER_SECRET_KEY: common.PIER_SECRET_KEY,
  PIER_SECRET_KEYS_PREVIOUS: common.PIER_SECRET_KEYS_PREVIOUS,
  PIER_LOG_LEVEL: common.PIER_LOG_LEVEL,
  PIER_LOG_FORMAT: common.PIER_LOG_FORMAT,
});
export type SecretsConfig = z.output<typeof secretsConfigSchema>;
