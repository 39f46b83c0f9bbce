import { randomBytes } from 'node:crypto';
import { ConfigError, parseConfig } from '../load-config.ts';
import { workerConfigSchema } from '../schemas.ts';

/** The settings every process needs, filled with valid values: tests change one thing on top. */
export const baseEnv = {
  DATABASE_URL: 'postgres://pier:pw@127.0.0.1:5432/pier',
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  PIER_SECRET_KEY: randomBytes(32).toString('base64'),
  PIER_PROXY_KEY: randomBytes(32).toString('base64'),
  PIER_BASE_DOMAIN: 'apps.example.com',
};

/** What the worker's config refuses in `baseEnv` plus `env`: one line per problem, none when it parses. */
export function workerProblems(env: Record<string, string>): string[] {
  try {
    parseConfig('worker', workerConfigSchema, { ...baseEnv, ...env });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}
