import {
  APP_NAME_MAX,
  branchProblem,
  CHECK_NAME_MAX,
  CHECKS_TIMEOUT_MAX_MS,
  CHECKS_TIMEOUT_MIN_MS,
  envKeyProblem,
  nameProblem,
  REQUIRED_CHECKS_MAX,
  repoPathProblem,
  reservedAppNameProblem,
  tagPatternProblem,
} from '@pier/core';
import { isPreviewName } from '@pier/github';
import { z } from 'zod';
import { autoRollbackBody } from './routes/auto-rollback.ts';

/** A zod string checked by one of core's `…Problem` functions. */
function checked(problem: (value: string) => string | undefined, description: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const message = problem(value);
      if (message) ctx.addIssue({ code: 'custom', message });
    })
    .describe(description);
}

export const name = checked(nameProblem, 'lower-case letter, then a-z, 0-9 and single dashes; at most 63 characters');
export const branch = checked(branchProblem, 'a git branch name');
export const tagPattern = checked(tagPatternProblem, 'a glob of git tags, e.g. v*');
export const repoPath = checked(repoPathProblem, 'a relative path inside the repository');
export const envKey = checked(envKeyProblem, 'POSIX variable name: ^[A-Z_][A-Z0-9_]*$');

/** 64 KiB per value: well above any real config value, far below a body limit. */
export const VARIABLE_VALUE_MAX_BYTES = 64 * 1024;
export const VARIABLES_PER_REQUEST_MAX = 500;

export const variableValue = z.string().superRefine((value, ctx) => {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > VARIABLE_VALUE_MAX_BYTES) {
    ctx.addIssue({ code: 'custom', message: `value is ${bytes} bytes; the limit is ${VARIABLE_VALUE_MAX_BYTES}` });
  }
  if (value.includes('\0')) ctx.addIssue({ code: 'custom', message: 'value must not contain NUL characters' });
});

const repoFullName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, 'must be owner/name as on GitHub')
  .describe('owner/name of the GitHub repository; webhooks are matched on it');

const cloneUrl = z
  .string()
  .max(2048)
  .refine(isCloneUrl, 'must be an https://, ssh://, git:// or file:// URL, or git@host:path')
  .describe('where the worker clones from');

export const appRepository = z.strictObject({ fullName: repoFullName, cloneUrl });

/** An app name: short enough that `<app>-<env>` hostnames, previews included, stay one DNS label. */
const appName = name
  .refine(
    (value) => value.length <= APP_NAME_MAX,
    `must be at most ${APP_NAME_MAX} characters, so that <app>-<environment> hostnames fit one DNS label`,
  )
  .superRefine((value, ctx) => {
    const problem = reservedAppNameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(`lower-case letter, then a-z, 0-9 and single dashes; at most ${APP_NAME_MAX} characters`);

export const createAppBody = z.strictObject({
  name: appName,
  repository: appRepository.optional(),
  defaultBranch: branch.optional(),
  dockerfilePath: repoPath.optional(),
  configPath: repoPath.optional().describe('where the app’s pier.json is in the repository (default pier.json)'),
});

export const updateAppBody = z
  .strictObject({
    repository: appRepository.nullable().optional(),
    defaultBranch: branch.optional(),
    dockerfilePath: repoPath.optional(),
    configPath: repoPath.optional().describe('where the app’s pier.json is in the repository (default pier.json)'),
    previewsEnabled: z.boolean().optional().describe('pull requests get a pr-<number> preview environment'),
    forkPreviews: z.boolean().optional().describe('pull requests from forks are previewed too, never with the app’s variables'),
    previewDatabase: z
      .boolean()
      .optional()
      .describe('each preview gets a fresh managed Postgres of its own, linked as DATABASE_URL'),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

const healthCheck = z.strictObject({
  path: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~!$&'()*+,;=:@/%?-]{0,255}|tcp)$/, 'must be an absolute URL path such as /health, or "tcp"')
    .nullable()
    .optional()
    .describe(
      'a path probed with GET (2xx/3xx healthy), "tcp" (the port accepts connections), or null: automatic (/health when it answers 2xx, else / below 500)',
    ),
  intervalMs: z.number().int().min(500).max(60_000).optional(),
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
  healthyThreshold: z.number().int().min(1).max(10).optional(),
  deadlineMs: z.number().int().min(5_000).max(3_600_000).optional(),
});

/** The CI gate of an environment's pushes. */
const checksSettings = {
  waitForChecks: z
    .boolean()
    .nullable()
    .optional()
    .describe(
      "GitHub's pushes build only once the commit's checks passed; null: the default (on for staging once the repository's webhook reports checks)",
    ),
  requiredChecks: z
    .array(
      z
        .string()
        .trim()
        .min(1)
        .max(CHECK_NAME_MAX)
        .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters'),
    )
    .min(1, 'give at least one check name, or null for every check')
    .max(REQUIRED_CHECKS_MAX)
    .nullable()
    .optional()
    .describe('check run names, status contexts, workflow names or check suite apps that must pass; null: every check reported'),
  checksTimeoutMs: z
    .number()
    .int()
    .min(CHECKS_TIMEOUT_MIN_MS)
    .max(CHECKS_TIMEOUT_MAX_MS)
    .optional()
    .describe('how long a push waits for its checks before it is skipped'),
};

const environmentSettings = {
  branch: branch.nullable().optional(),
  tagPattern: tagPattern.nullable().optional(),
  replicas: z.number().int().min(0).max(20).optional(),
  healthCheck: healthCheck.optional(),
  port: z
    .number()
    .int()
    .min(1)
    .max(65_535)
    .nullable()
    .optional()
    .describe('port the app listens on, given to it as PORT; null: pier.json, else the image’s one EXPOSEd port, else 8080'),
  drainTimeoutMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .optional()
    .describe('how long replaced replicas keep serving in-flight requests'),
  ...checksSettings,
};

/** A name for a new environment: `pr-<number>` belongs to pull request previews, which Pier creates itself. */
const newEnvironmentName = name.refine(
  (value) => !isPreviewName(value),
  'pr-<number> names are reserved for pull request previews; choose another name',
);

export const createEnvironmentBody = z.strictObject({ name: newEnvironmentName, ...environmentSettings });
export const updateEnvironmentBody = z
  .strictObject({
    ...environmentSettings,
    autoRollback: autoRollbackBody.optional().describe('automatic rollback on an error spike after each rollout'),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

export const changeVariablesBody = z
  .strictObject({
    set: z.record(envKey, variableValue).optional(),
    unset: z.array(envKey).max(VARIABLES_PER_REQUEST_MAX).optional(),
    redeploy: z
      .boolean()
      .optional()
      .describe('redeploy the running image with the new variables (a `config` deployment, health-gated); default false'),
  })
  .superRefine((b, ctx) => {
    const count = Object.keys(b.set ?? {}).length + (b.unset?.length ?? 0);
    if (count === 0) ctx.addIssue({ code: 'custom', message: 'give variables to set or unset' });
    if (count > VARIABLES_PER_REQUEST_MAX) {
      ctx.addIssue({ code: 'custom', message: `at most ${VARIABLES_PER_REQUEST_MAX} variables per request` });
    }
  });

export const createTokenBody = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\p{L}\p{N} ._:@-]+$/u, 'may contain letters, digits, spaces and . _ : @ -'),
  app: name.optional().describe('limit the token to this app; omit for an admin token'),
});

export const appParams = z.strictObject({ app: name });
export const envParams = z.strictObject({ app: name, env: name });
export const variableParams = z.strictObject({ app: name, env: name, key: envKey });
export const tokenParams = z.strictObject({ id: z.string().max(64) });
export const revealQuery = z.strictObject({
  reveal: z.enum(['true', 'false', '1', '0']).optional().describe('true to return plaintext values'),
});

function isCloneUrl(value: string): boolean {
  if (value.startsWith('-') || /[\s\0]/.test(value)) return false;
  if (/^[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[A-Za-z0-9_./~-]+$/.test(value)) return true;
  try {
    return ['https:', 'http:', 'ssh:', 'git:', 'file:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
