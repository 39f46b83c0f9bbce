import { randomBytes } from 'node:crypto';
import { TEST_REDIS_URL } from './env.ts';
import { LOCAL_IMAGES } from './worker.ts';

export interface WorkerProcessBase {
  databaseUrl: string;
  /** PIER_SECRET_KEY: the one the test's api seals with. */
  secretKey: Buffer;
  /** PIER_PROXY_KEY; a fresh one when the test serves no certificate. */
  proxyKey?: Buffer;
  /** PIER_WORK_DIR. */
  workDirectory: string;
}

/**
 * The environment of the real worker entry point (apps/worker/src/main.ts) as
 * an operator would set it here: loopback Redis, the local base images, file
 * repositories allowed, JSON logs. Each test adds what it is about.
 */
export function workerProcessEnv(base: WorkerProcessBase, more: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: base.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: base.secretKey.toString('base64'),
    PIER_PROXY_KEY: (base.proxyKey ?? randomBytes(32)).toString('base64'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_LOG_FORMAT: 'json',
    PIER_LOG_LEVEL: 'debug',
    PIER_ALLOW_FILE_REPOS: 'true',
    PIER_IMAGE_NODE: LOCAL_IMAGES.node,
    PIER_IMAGE_PYTHON: LOCAL_IMAGES.python,
    PIER_IMAGE_PROCFILE: LOCAL_IMAGES.procfile,
    PIER_IMAGE_VOLUME_TOOLS: LOCAL_IMAGES.procfile,
    PIER_IMAGE_POSTGRES: 'pier-local/postgres',
    PIER_IMAGE_REDIS: 'pier-local/redis',
    PIER_WORK_DIR: base.workDirectory,
    PIER_MIN_FREE_DISK_MB: '100',
    // Never a public CA: a test that orders certificates names its Pebble; the rest reach nothing (discard port, loopback).
    PIER_ACME_DIRECTORY_URL: 'https://127.0.0.1:9/directory',
    ...more,
  };
}

/** What the api process needs to start against a test database: one port, the admin token, JSON logs. */
export function apiProcessEnv(
  base: { databaseUrl: string; secretKey: Buffer; apiPort: number; adminToken: string },
  more: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: base.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: base.secretKey.toString('base64'),
    PIER_PROXY_KEY: randomBytes(32).toString('base64'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_LOG_FORMAT: 'json',
    PIER_API_PORT: String(base.apiPort),
    PIER_ADMIN_TOKEN: base.adminToken,
    ...more,
  };
}
