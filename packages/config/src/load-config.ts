import type { z } from 'zod';

export type Env = Record<string, string | undefined>;

/** Every problem in a process's configuration, one line each. */
export class ConfigError extends Error {
  constructor(
    readonly processName: string,
    readonly problems: readonly string[],
  ) {
    const noun = problems.length === 1 ? 'problem' : 'problems';
    super(
      `pier ${processName}: invalid configuration (${problems.length} ${noun}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSee .env.example for every variable and what it is for.',
    );
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment with a process's schema. Empty strings count as unset.
 * Throws a ConfigError listing every missing or invalid variable at once.
 */
export function parseConfig<S extends z.ZodType>(processName: string, schema: S, env: Env): z.output<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(processName, problems);
}

/** For main.ts: parse, or print the problems and exit non-zero before anything starts. */
export function loadConfigOrExit<S extends z.ZodType>(processName: string, schema: S, env: Env): z.output<S> {
  try {
    return parseConfig(processName, schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}
