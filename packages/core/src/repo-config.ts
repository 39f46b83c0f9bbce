import { z } from 'zod';
import { cronProblem, timeZoneProblem } from './cron.ts';
import { ValidationError } from './errors.ts';
import { ENV_KEY_PATTERN, envKeyProblem, NAME_PATTERN, repoPathProblem } from './names.ts';
import { describeIssues } from './zod-issues.ts';

/**
 * `pier.json`: an app's settings kept in its repository, read at each built
 * commit. What the API sets is the default; the file wins for the release
 * built from that commit. Build settings apply to the one image every
 * environment runs, so they cannot be overridden per environment.
 */

/** Where an app's `pier.json` is looked for unless the app says otherwise. */
export const DEFAULT_REPO_CONFIG_PATH = 'pier.json';

/** The largest `pier.json` read; a bigger one is refused. */
export const REPO_CONFIG_MAX_BYTES = 64 * 1024;

const repoPath = (what: string) =>
  z.string().refine((value) => repoPathProblem(value) === undefined, {
    error: (issue) => `${what} ${repoPathProblem(String(issue.input))}`,
  });

const command = z
  .string()
  .min(1, 'must not be empty')
  .max(4096, 'must be at most 4096 characters')
  .refine((value) => !value.includes('\0'), 'must not contain NUL characters');

const variableName = z
  .string()
  .refine((value) => envKeyProblem(value) === undefined, { error: (issue) => `${envKeyProblem(String(issue.input))}` });

const build = z
  .strictObject({
    dockerfile: repoPath('a path that')
      .optional()
      .describe('Dockerfile path, relative to the repository root; it must exist at the built commit'),
    context: repoPath('a folder that')
      .optional()
      .describe('Build context folder, relative to the repository root (default: the root); the Dockerfile must be inside it'),
    target: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a stage name (letters, digits, _ . -)')
      .optional()
      .describe('Target stage of a multi-stage Dockerfile (only for a Dockerfile build, not a generated one)'),
    args: z
      .record(z.string().regex(ENV_KEY_PATTERN, 'must be an upper-case name'), z.string().max(4096))
      .optional()
      .describe('Build arguments (not secret: they stay readable in the image history)'),
    command: command.optional().describe('Runs in generated builds after dependencies are installed, e.g. "npm run build"'),
  })
  .describe('How the image is built: the same image runs in every environment');

const healthCheck = z
  .union([
    z
      .string()
      .refine((value) => value === 'tcp' || /^\/[\x21-\x7e]{0,511}$/.test(value), 'must be a path starting with / or "tcp"'),
    z.strictObject({
      path: z
        .string()
        .refine((value) => value === 'tcp' || /^\/[\x21-\x7e]{0,511}$/.test(value), 'must be a path starting with / or "tcp"')
        .optional(),
      deadlineSeconds: z.int().min(5).max(3600).optional().describe('How long a new replica has to become healthy'),
      intervalSeconds: z.int().min(1).max(60).optional(),
      timeoutSeconds: z.int().min(1).max(60).optional(),
    }),
  ])
  .describe('A path probed over HTTP (healthy on 2xx or 3xx), or "tcp" (healthy when the port accepts connections)');

const release = z
  .union([
    command,
    z.strictObject({
      command,
      timeoutSeconds: z.int().min(1).max(3600).optional().describe('Default 600'),
    }),
  ])
  .describe('Runs once per release in a one-off container of the new image, before any new replica starts');

const resources = z
  .strictObject({
    memoryMb: z.int().min(32).max(1_048_576).optional().describe('Memory limit of each replica, in MiB'),
    cpus: z.number().min(0.05).max(256).optional().describe('CPU limit of each replica, in cores'),
  })
  .describe('Limits of each replica');

const cronJob = z.strictObject({
  name: z.string().regex(NAME_PATTERN, 'must start with a lower-case letter and contain only a-z, 0-9 and -'),
  schedule: z.string().refine((value) => cronProblem(value) === undefined, {
    error: (issue) => `${cronProblem(String(issue.input))}`,
  }),
  command,
  timeout: z.int().min(1).max(86_400).optional().describe('Seconds'),
  timeZone: z
    .string()
    .max(64)
    .refine((value) => timeZoneProblem(value) === undefined, {
      error: (issue) => `${timeZoneProblem(String(issue.input))}`,
    })
    .optional()
    .describe('IANA time zone the schedule is read in (default UTC)'),
  concurrency: z.enum(['forbid', 'allow']).optional(),
});

const requiredVariable = z.union([
  variableName,
  z.strictObject({ name: variableName, description: z.string().max(1024).optional() }),
]);

/** What may differ per environment: everything but the build. */
const runSettings = {
  port: z.int().min(1).max(65_535).optional().describe('Port the app listens on (default: the image’s EXPOSE, else 8080)'),
  healthCheck: healthCheck.optional(),
  release: release.optional(),
  processes: z
    .record(z.string().regex(NAME_PATTERN, 'must be a process type name (a-z, 0-9, -)'), command)
    .optional()
    .describe('Process types and their commands, as in a Procfile'),
  cron: z.array(cronJob).max(100).optional(),
  requiredVariables: z.array(requiredVariable).max(500).optional(),
  resources: resources.optional(),
};

const environmentOverrides = z.strictObject(runSettings);

export const repoConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    app: z
      .string()
      .regex(NAME_PATTERN, 'must be an app name')
      .optional()
      .describe('The Pier app this folder deploys to, for the `pier` CLI (builds ignore it)'),
    build: build.optional(),
    ...runSettings,
    environments: z
      .record(z.string().regex(NAME_PATTERN, 'must be an environment name'), environmentOverrides)
      .optional()
      .describe('Settings that differ per environment (all but build)'),
  })
  .describe('Pier app settings, read from the repository at each built commit');

export type RepoConfig = z.infer<typeof repoConfigSchema>;

/**
 * What a deployment keeps of its repository at the built commit
 * (`deployments.repo_config`): the validated `pier.json`, and the Procfile's
 * `release:` line, which Heroku and Dokku run as the release command.
 */
export interface RepoSettings {
  pierJson: RepoConfig | null;
  procfileRelease?: string;
  /** The Procfile's process types and commands, `release` excepted. */
  procfileProcesses?: Record<string, string>;
  /** The image was generated from a Procfile without `web:` (its command is another type's): the app has no web. */
  procfileWebless?: true;
}

/** The settings of one environment: the file's, with that environment's overrides applied. */
export interface EnvironmentRepoConfig {
  build: NonNullable<RepoConfig['build']>;
  port?: number;
  healthCheck?: { path?: string; deadlineSeconds?: number; intervalSeconds?: number; timeoutSeconds?: number };
  release?: { command: string; timeoutSeconds?: number };
  processes?: Record<string, string>;
  cron?: NonNullable<RepoConfig['cron']>;
  requiredVariables: { name: string; description?: string }[];
  resources?: NonNullable<RepoConfig['resources']>;
}

/**
 * Parses and validates the text of a `pier.json`. Throws a ValidationError
 * whose message names every offending field (`pier.json: build.dockerfile: …`).
 */
export function parseRepoConfig(text: string, where = DEFAULT_REPO_CONFIG_PATH): RepoConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${where} is not valid JSON: ${(err as Error).message}`, where);
  }
  const parsed = repoConfigSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    const first = parsed.error.issues[0]?.path.map(String).join('.') ?? '';
    throw new ValidationError(describeIssues(where, parsed.error.issues), first ? `${where}:${first}` : where);
  }
  return parsed.data;
}

/** The file's settings as one environment sees them: its overrides win, key by key. */
export function repoConfigFor(config: RepoConfig | null, environment: string): EnvironmentRepoConfig {
  const merged = { ...(config ?? {}), ...(config?.environments?.[environment] ?? {}) };
  const health = merged.healthCheck;
  const release = merged.release;
  return {
    build: config?.build ?? {},
    ...(merged.port === undefined ? {} : { port: merged.port }),
    ...(health === undefined ? {} : { healthCheck: typeof health === 'string' ? { path: health } : health }),
    ...(release === undefined ? {} : { release: typeof release === 'string' ? { command: release } : release }),
    ...(merged.processes === undefined ? {} : { processes: merged.processes }),
    ...(merged.cron === undefined ? {} : { cron: merged.cron }),
    requiredVariables: (merged.requiredVariables ?? []).map((v) => (typeof v === 'string' ? { name: v } : v)),
    ...(merged.resources === undefined ? {} : { resources: merged.resources }),
  };
}

/** The JSON Schema of `pier.json`, for editors (`GET /schemas/pier.json`). */
export function repoConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(repoConfigSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'pier.json',
  };
}
